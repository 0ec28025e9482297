import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FILE_CHUNK_BYTES } from '../core/digest.js';
import { readFileChunks } from './file-source.js';
import { containerFormat, HEAD_BYTES, TAIL_BYTES, type ContainerFormat } from '../core/inside/formats.js';
import {
  InsideTimeLimitError,
  type Extraction,
  type FileSink,
  type InsideFile,
  type InsideWorkspace,
  type ListedEntry,
  type Listing,
  type LookInside,
} from '../core/inside/look-inside.js';
import { DEFAULT_INSIDE_LIMITS, type InsideLimits } from '../core/inside/limits.js';

/**
 * Looks inside files with 7-Zip compiled to WebAssembly (`7z-wasm`), off the event loop: each file gets a
 * scratch folder of its own under the OS temporary folder (mode 0700) and a worker thread running 7-Zip,
 * whose file system sees that folder and nothing else of the disk. 7-Zip's `callMain` is synchronous, so
 * it runs only in the worker; the members are digested here, chunk by chunk, like any other file. At the
 * time limit the worker is terminated, and the folder is deleted when the file's look-inside ends,
 * whatever the outcome.
 */
export class SevenZipLookInside implements LookInside {
  private readonly modulePath: string | null;
  private readonly workers: Slots;

  /**
   * @param options.scratchParent where scratch folders are made (the OS temporary folder by default)
   * @param options.maxWorkers 7-Zip workers alive at once, whatever the number of files being looked into
   *   (one per core, at least two, by default): a file waits for one, its time limit running meanwhile.
   */
  constructor(
    readonly limits: InsideLimits = DEFAULT_INSIDE_LIMITS,
    private readonly options: { scratchParent?: string; maxWorkers?: number } = {},
  ) {
    this.modulePath = resolveSevenZip();
    this.workers = new Slots(options.maxWorkers ?? Math.max(2, availableParallelism()));
  }

  open(limits: InsideLimits): InsideWorkspace {
    const root = join(this.options.scratchParent ?? tmpdir(), `hashcheck-inside-${randomUUID()}`);
    return new SevenZipWorkspace(root, this.modulePath, limits.timeMs, this.workers);
  }
}

/** A counting semaphore: `take` resolves once a slot is free. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  take(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

/**
 * Where `7z-wasm` is installed, or `null` when it is not (then every container is reported `unsupported`).
 * Resolved from this module's own location: deployed, that is the bundle's folder, where the stack copies
 * the package (lib/hash-lookup-stack.ts `SEVEN_ZIP_FILES`); its JavaScript loads `7zz.wasm` from beside itself.
 */
function resolveSevenZip(): string | null {
  try {
    return createRequire(import.meta.url).resolve('7z-wasm');
  } catch {
    return vendoredSevenZip();
  }
}

/**
 * The copy of `7z-wasm` the packed command line carries in `vendor/7z-wasm/` beside its bundle
 * (bin/build-cli.mjs), found from this module's folder upwards: the code runs from `dist/hashcheck.mjs`
 * or from a chunk in `dist/chunks/`. `null` when there is none.
 */
function vendoredSevenZip(): string | null {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(folder, 'vendor', '7z-wasm', 'package.json');
    if (existsSync(manifest)) {
      try {
        return createRequire(manifest).resolve('./');
      } catch {
        return null;
      }
    }
    const parent = dirname(folder);
    if (parent === folder) return null;
    folder = parent;
  }
}

/**
 * The formats handed to 7-Zip: those its tests open here (test/unit/inside-archives.test.ts,
 * test/unit/inside-packages.test.ts for macOS flat packages and cpio, and test/unit/inside-rar.test.ts for
 * RAR 4 and RAR 5, read with 7-Zip's own RAR code from WinRAR-made archives of libarchive's test suite).
 * HFS+ or APFS volumes met on their own are recognised but answered `unsupported` until tests show them
 * opened; inside a DMG, 7-Zip reads the volume itself. So is a `pbzx` payload: 7-Zip has no reader for its
 * chunks (it finds only the first chunk's XZ stream, the first 16 MiB), so it is never passed off as read.
 */
const OPENED: ReadonlySet<ContainerFormat> = new Set(['zip', '7z', 'rar', 'gzip', 'bzip2', 'xz', 'zstd', 'tar', 'cpio', 'cab', 'ole', 'iso', 'dmg', 'xar', 'fat']);

/** Lines of `7zz l -slt` before the first entry, and at most per entry (ZIP's are the longest, about 20). */
const LISTING_HEADER_LINES = 64;
const LINES_PER_ENTRY = 40;
/** Lines kept of an extraction's output: its errors come first; a flood of them is damage enough. */
const MAX_EXTRACT_LINES = 10_000;

/**
 * The most WebAssembly memory a 7-Zip module may keep between commands (it starts at about 16 MiB, and a
 * listing of 10,000 entries takes it to about 30 MiB); one grown past this by an extraction is ended.
 */
const KEEP_HEAP_BYTES = 64 * 1024 * 1024;

/** Where the scratch folder appears inside the worker's file system. */
const MOUNT = '/scratch';

type Request = { id: number; args: string[]; maxWriteBytes: number; maxLines: number };
type Reply = { id: number; code: number; lines: string[]; crashed: boolean; overBudget: boolean; tooManyLines: boolean; heapBytes: number };

/**
 * The worker: 7-Zip's WebAssembly module with the scratch folder mounted (`NODEFS`) at {@link MOUNT}, the
 * only real folder it can reach; one command at a time. A module that throws is discarded and the next
 * command gets a fresh one. CommonJS evaluated from a string, so a bundled function carries no extra file.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
// Every byte 7-Zip writes goes through the mounted folder's writeSync: counted, and refused past the budget.
let written = 0;
let budget = Infinity;
let overBudget = false;
const writeSync = fs.writeSync;
fs.writeSync = function (fd, buffer, offset, length) {
  const bytes = typeof length === 'number' ? length : typeof buffer === 'string' ? Buffer.byteLength(buffer) : buffer.byteLength;
  if (written + bytes > budget) {
    overBudget = true;
    throw Object.assign(new Error('The extraction went past its byte budget'), { code: 'EFBIG' });
  }
  written += bytes;
  return writeSync.apply(this, arguments);
};
// The module's memory, caught as it is instantiated: its size is reported with every reply.
let memory;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = function () {
  return instantiate.apply(this, arguments).then((result) => {
    const exports = (result.instance || result).exports;
    if (exports && exports.memory instanceof WebAssembly.Memory) memory = exports.memory;
    return result;
  });
};
const SevenZip = require(workerData.module);
let lines = [];
// A listing of millions of entries is not kept: past the budget, lines are counted out, not stored.
let lineBudget = Infinity;
let tooManyLines = false;
const keep = (line) => {
  if (lines.length < lineBudget) lines.push(line);
  else tooManyLines = true;
};
let instance;
async function sevenZip() {
  if (!instance) {
    const module = await SevenZip({ print: keep, printErr: keep });
    module.FS.mkdir('${MOUNT}');
    module.FS.mount(module.NODEFS, { root: workerData.root }, '${MOUNT}');
    instance = module;
  }
  return instance;
}
parentPort.on('message', async ({ id, args, maxWriteBytes, maxLines }) => {
  const module = await sevenZip();
  lines = [];
  lineBudget = maxLines;
  tooManyLines = false;
  written = 0;
  budget = maxWriteBytes;
  overBudget = false;
  let code;
  let crashed = false;
  try {
    code = module.callMain(args);
  } catch (error) {
    crashed = true;
    instance = undefined;
  }
  const heapBytes = instance && memory ? memory.buffer.byteLength : 0;
  parentPort.postMessage({ id, code: typeof code === 'number' ? code : crashed ? -1 : 0, lines, crashed, overBudget, tooManyLines, heapBytes });
});
`;

class SevenZipWorkspace implements InsideWorkspace {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  /** Commands sent to the current worker. */
  private commands = 0;
  private nextFolder = 1;
  private expired = false;
  private timer: NodeJS.Timeout;
  /** Where each file of this scratch folder is on disk. */
  private readonly paths = new WeakMap<InsideFile, string>();
  /** The scratch folder, created (mode 0700, failing if the name exists) on first use. */
  private created: Promise<void> | undefined;
  /** Files being written when the look-inside ended early (a failed upload), closed by {@link close}. */
  private readonly unclosed = new Set<Promise<FileHandle>>();

  /** Whether this file holds one of the worker slots (taken on its first command, given back by {@link close}). */
  private slot: Promise<void> | undefined;
  private closed = false;
  /** Rejects at the time limit. */
  private readonly expiry: Promise<never>;
  private reachedLimit!: (error: Error) => void;

  constructor(
    private readonly root: string,
    private readonly modulePath: string | null,
    timeMs: number,
    private readonly workers: Slots,
  ) {
    this.expiry = new Promise<never>((_, reject) => (this.reachedLimit = reject));
    this.expiry.catch(() => undefined);
    this.timer = setTimeout(() => this.expire(), timeMs);
    this.timer.unref();
  }

  startClock(timeMs: number): void {
    if (this.expired || this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.expire(), timeMs);
    this.timer.unref();
  }

  create(name: string): FileSink {
    const folder = join(this.root, `f${this.nextFolder++}`);
    const path = join(folder, safeName(name));
    let handle: Promise<FileHandle> | undefined;
    let size = 0;
    const opened = () => {
      if (!handle) {
        handle = this.ready().then(() => mkdir(folder, { mode: 0o700 })).then(() => open(path, 'wx', 0o600));
        this.unclosed.add(handle);
      }
      return handle;
    };
    return {
      write: async (chunk) => {
        this.check();
        await (await opened()).write(chunk);
        size += chunk.byteLength;
      },
      close: async () => {
        const done = opened();
        this.unclosed.delete(done);
        await (await done).close();
        const file: InsideFile = { name: safeName(name), size };
        this.paths.set(file, path);
        return file;
      },
    };
  }

  /**
   * Whether a 7z archive's header is itself encrypted: its signature header points at an encoded header (0x17)
   * whose coder is 7-Zip's AES-256 (method id 06 F1 07 01). Reads the 32-byte signature header and at most 64 KiB.
   */
  private async hasEncryptedHeader(file: InsideFile): Promise<boolean> {
    const handle = await open(this.pathOf(file), 'r');
    try {
      const start = Buffer.alloc(32);
      await handle.read(start, 0, 32, 0);
      if (!start.subarray(0, 6).equals(SEVEN_ZIP_SIGNATURE)) return false;
      const offset = 32 + Number(start.readBigUInt64LE(12));
      const length = Math.min(Number(start.readBigUInt64LE(20)), 64 * 1024);
      if (length <= 0 || offset + length > file.size) return false;
      const header = Buffer.alloc(length);
      await handle.read(header, 0, length, offset);
      return header[0] === 0x17 && header.includes(AES_METHOD_ID);
    } finally {
      await handle.close();
    }
  }

  /**
   * Whether the bytes of `file` from `offset` on, past any zeros, are a container: data after an archive's
   * end is padding (a volume's spare sectors) or a second archive appended. Reads the zeros in 1 MiB chunks.
   */
  private async containerAt(file: InsideFile, offset: number): Promise<boolean> {
    const handle = await open(this.pathOf(file), 'r');
    try {
      const chunk = Buffer.alloc(FILE_CHUNK_BYTES);
      let at = offset;
      for (;;) {
        this.check();
        const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, file.size - at), at);
        if (bytesRead === 0) return false;
        const nonZero = chunk.subarray(0, bytesRead).findIndex((byte) => byte !== 0);
        if (nonZero >= 0) {
          at += nonZero;
          break;
        }
        at += bytesRead;
      }
      const head = Buffer.alloc(Math.min(HEAD_BYTES, file.size - at));
      await handle.read(head, 0, head.length, at);
      const tail = Buffer.alloc(file.size - at >= TAIL_BYTES ? TAIL_BYTES : 0);
      await handle.read(tail, 0, tail.length, file.size - tail.length);
      return containerFormat(head, tail) !== null;
    } finally {
      await handle.close();
    }
  }

  async ends(file: InsideFile, headBytes: number, tailBytes: number): Promise<{ head: Uint8Array; tail: Uint8Array }> {
    this.check();
    const handle = await open(this.pathOf(file), 'r');
    try {
      const head = Buffer.alloc(Math.min(headBytes, file.size));
      await handle.read(head, 0, head.length, 0);
      const tail = Buffer.alloc(Math.min(tailBytes, file.size));
      await handle.read(tail, 0, tail.length, file.size - tail.length);
      return { head, tail };
    } finally {
      await handle.close();
    }
  }

  private ready(): Promise<void> {
    return (this.created ??= mkdir(this.root, { mode: 0o700 }).then(() => undefined));
  }

  opens(format: ContainerFormat): boolean {
    return this.modulePath !== null && OPENED.has(format);
  }

  async list(file: InsideFile, maxEntries: number): Promise<Listing> {
    const reply = await this.run(['l', '-slt', '-bd', '-p', '-y', '-sccUTF-8', this.inWorker(file)], 0, LISTING_HEADER_LINES + (maxEntries + 1) * LINES_PER_ENTRY);
    if (reply.tooManyLines) return { problem: 'members' };
    // A 7z archive with encrypted names (`-mhe`) cannot even be listed without its password (7-Zip in WebAssembly
    // aborts on it): it is encrypted, not damaged.
    if (reply.code !== 0 && (reply.lines.some((line) => /Can ?not open encrypted archive/i.test(line)) || (await this.hasEncryptedHeader(file)))) {
      return { problem: 'encrypted' };
    }
    if (reply.crashed || (reply.code !== 0 && !onlyTrailing(reply)) || reply.lines.some(isDamage)) return { problem: 'corrupt' };
    const end = physicalSize(reply.lines);
    const trailingContainer = end !== null && end < file.size && (await this.containerAt(file, end));
    return { entries: parseListing(reply.lines), ...(trailingContainer && { trailingContainer }) };
  }

  async extract(file: InsideFile, maxBytes: number): Promise<Extraction> {
    const folder = join(this.root, `x${this.nextFolder++}`);
    await mkdir(folder, { mode: 0o700 });
    const release = () => rm(folder, { recursive: true, force: true });
    try {
      // -p with no password: an encrypted member fails instead of asking; -snld- refuses links leading out.
      const reply = await this.run(['x', '-bd', '-p', '-y', '-snld-', '-sccUTF-8', `-o${this.inWorker(folder)}`, this.inWorker(file)], maxBytes, MAX_EXTRACT_LINES);
      const encrypted = reply.lines.flatMap((line) => WRONG_PASSWORD.exec(line)?.slice(1, 2) ?? []);
      const overBudget = reply.overBudget;
      // A link leading out of the folder is refused (-snld-) and reported as an error: it is no member, and
      // nothing was left unread for it. Any other error, or a failure that names none, is damage.
      const otherErrors = reply.lines.some((line) => line.startsWith('ERROR:') && !WRONG_PASSWORD.test(line) && !/^ERROR: Dangerous link path was ignored : /.test(line));
      const unexplained = reply.code !== 0 && !reply.lines.some((line) => line.startsWith('ERROR:')) && !onlyTrailing(reply);
      const corrupt = !overBudget && (reply.crashed || reply.tooManyLines || reply.lines.some((line) => isDamage(line) && !WRONG_PASSWORD.test(line)) || otherErrors || unexplained);
      const skipped = new Set(encrypted);
      const members: InsideFile[] = [];
      for await (const [path, size] of regularFiles(folder)) {
        // Control characters in a name are shown as `_`, as 7-Zip lists them: a name reaches terminals and logs.
        const name = displayName(relative(folder, path).split(sep).join('/'));
        // An encrypted member is left as an empty or partial file: it is reported, never digested.
        if (skipped.has(name)) continue;
        const member: InsideFile = { name, size };
        this.paths.set(member, path);
        members.push(member);
      }
      members.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      return { members, corrupt, encrypted, overBudget, release };
    } catch (error) {
      await release();
      throw error;
    }
  }

  async *read(file: InsideFile): AsyncIterable<Uint8Array> {
    // Into reused buffers: a fresh 1 MiB buffer per chunk of 10,000 members piles up faster than it is collected.
    for await (const chunk of readFileChunks(this.pathOf(file), FILE_CHUNK_BYTES)) {
      this.check();
      yield chunk;
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.closed = true;
    await this.worker?.terminate();
    this.worker = undefined;
    // A slot still being waited for is given back as soon as it arrives.
    if (this.slot) void this.slot.then(() => this.workers.give());
    for (const handle of this.unclosed) await handle.then((opened) => opened.close()).catch(() => undefined);
    this.unclosed.clear();
    await rm(this.root, { recursive: true, force: true });
  }

  private expire(): void {
    this.expired = true;
    this.reachedLimit(new InsideTimeLimitError());
    void this.worker?.terminate();
    this.worker = undefined;
    for (const { reject } of this.pending.values()) reject(new InsideTimeLimitError());
    this.pending.clear();
  }

  private check(): void {
    if (this.expired) throw new InsideTimeLimitError();
  }

  private pathOf(file: InsideFile): string {
    const path = this.paths.get(file);
    if (!path) throw new Error(`The file ${file.name} is not in this scratch folder`);
    return path;
  }

  /** The path the worker sees for a file or folder of the scratch folder. */
  private inWorker(target: InsideFile | string): string {
    const path = typeof target === 'string' ? target : this.pathOf(target);
    return `${MOUNT}/${relative(this.root, path).split(sep).join('/')}`;
  }

  private async run(args: string[], maxWriteBytes: number, maxLines: number): Promise<Reply> {
    this.check();
    // Waiting for a worker counts against the time limit like any other step.
    await Promise.race([(this.slot ??= this.workers.take()), this.expiry]);
    const fresh = this.worker === undefined || this.commands === 0;
    const reply = await this.send(args, maxWriteBytes, maxLines);
    if (!reply.crashed || fresh) return reply;
    // 7-Zip's main is not made to run again and again in one process: after many commands a module may fault
    // on a sound archive (memory access out of bounds), and a module made anew in the same thread can fault
    // too. The command is run once more in a fresh worker; a fault there is the archive's own.
    this.endWorker();
    this.check();
    return this.send(args, maxWriteBytes, maxLines);
  }

  private send(args: string[], maxWriteBytes: number, maxLines: number): Promise<Reply> {
    if (this.closed) throw new Error('The scratch folder is closed');
    const worker = this.ensureWorker();
    this.commands += 1;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, args, maxWriteBytes, maxLines } satisfies Request);
    });
  }

  /** Ends the worker between commands; the next command starts a fresh one. */
  private endWorker(): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: this.modulePath, root: this.root } });
    this.commands = 0;
    worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      // WebAssembly memory never shrinks: a module grown by a large archive is ended rather than kept
      // beside the members being digested; the next container gets a fresh one.
      if (reply.heapBytes > KEEP_HEAP_BYTES && this.worker === worker && this.pending.size === 0) this.endWorker();
      waiting?.resolve(reply);
    });
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The 7-Zip worker thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * 7-Zip's words for a member it could not decrypt without a password, naming it: `Wrong password` (ZIP, 7z,
 * RAR 5), `Data Error in encrypted file. Wrong password?` (RAR 4, whose check comes only after the data),
 * `CRC Failed in encrypted file. Wrong password?` (a ZipCrypto member whose check byte, one in 256, the
 * empty password happens to pass: it is decrypted into garbage).
 */
const WRONG_PASSWORD = /^ERROR: (?:Wrong password|(?:Data Error|CRC Failed) in encrypted file\. Wrong password\?) : (.*)$/;

/** 7-Zip's words for a damaged archive, in a listing or an extraction. */
const SEVEN_ZIP_SIGNATURE = Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]);
/** 7-Zip's method id of AES-256 with SHA-256 key derivation, as a 7z header names its coder. */
const AES_METHOD_ID = Buffer.from([0x06, 0xf1, 0x07, 0x01]);

function isDamage(line: string): boolean {
  return /Unexpected end of (archive|data)|Headers Error|Data Error|CRC Failed|Cannot open the file as archive|Is not archive|Unsupported Method/i.test(line);
}

/** 7-Zip's warning for bytes after an archive's end: no damage, but a look at what they are (`containerAt`). */
const TRAILING_WARNING = 'There are data after the end of archive';

/** Whether 7-Zip ended with warnings (exit code 1) whose only one is data after the end. */
function onlyTrailing(reply: Reply): boolean {
  if (reply.code !== 1 || reply.crashed || !reply.lines.includes(TRAILING_WARNING)) return false;
  return !reply.lines.some((line) => line.startsWith('ERROR') || (/warning|error/i.test(line) && !/^(WARNINGS:|Warnings: \d+)$/.test(line)));
}

/** Where the archive 7-Zip listed ends (its `Physical Size`), or `null` when the listing does not say. */
function physicalSize(lines: readonly string[]): number | null {
  const start = lines.indexOf('----------');
  for (const line of start < 0 ? lines : lines.slice(0, start)) {
    const match = /^Physical Size = (\d+)$/.exec(line);
    if (match) return Number(match[1]);
  }
  return null;
}

/** The entries of `7zz l -slt`: blocks of `Key = Value` lines after the `----------` line. */
export function parseListing(lines: readonly string[]): ListedEntry[] {
  const start = lines.indexOf('----------');
  if (start < 0) return [];
  const entries: ListedEntry[] = [];
  let block = new Map<string, string>();
  const flush = () => {
    const name = block.get('Path');
    // xar lists no `Folder`: its folders are known by their mode.
    const isFolder = block.get('Folder') === '+' || (block.get('Attributes') ?? '').startsWith('D') || (block.get('Mode') ?? '').startsWith('d');
    const isLink = (block.get('Symbolic Link') ?? '') !== '' || (block.get('Mode') ?? '').startsWith('l');
    if (name !== undefined && !isFolder && !isLink) {
      const size = Number.parseInt(block.get('Size') ?? '', 10);
      entries.push({ name, size: Number.isFinite(size) ? size : null, encrypted: block.get('Encrypted') === '+' });
    }
    block = new Map();
  };
  for (const line of lines.slice(start + 1)) {
    if (line === '') {
      flush();
      continue;
    }
    const at = line.indexOf(' = ');
    if (at > 0) block.set(line.slice(0, at), line.slice(at + 3));
  }
  flush();
  return entries;
}

/** Regular files under a folder, never following links: a link member leads nowhere. */
async function* regularFiles(folder: string): AsyncGenerator<[string, number]> {
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* regularFiles(path);
    else if (entry.isFile()) yield [path, (await lstat(path)).size];
  }
}

/** A member's name as answered: control characters (a newline, an escape sequence) replaced by `_`. */
function displayName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '_');
}

/** A file name safe to create in the scratch folder: the last part, no control characters, never `.` or `..`. */
function safeName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = last.replace(/[\u0000-\u001f\u007f]/g, '_');
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}
