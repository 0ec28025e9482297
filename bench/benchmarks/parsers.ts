/**
 * Parser cost on hostile shapes: each worst case (messages nested 31 deep around newline-only lines,
 * quoted-printable made of soft breaks, huge header parameters, import feeds shaped against backtracking
 * parsers) timed against a plain input of the same size through the same public function, in this
 * process, best of a few interleaved rounds. The ratio is what matters: a parser that is linear in its
 * bytes reads any shape at about the speed of a plain one.
 */
import { InvalidRequestError } from '../../lambdas/core/errors.js';
import { parseImport, type ImportFormat } from '../../lambdas/core/import-formats.js';
import { decodeEncodedWords, parseStructuredHeader } from '../../lambdas/core/mime-headers.js';
import { readAttachments, type MimeWork } from '../../lambdas/core/mime.js';
import type { Benchmark } from '../support/context.js';
import { formatNumber, formatRatio, type ResultBuilder } from '../support/report.js';
import { MIB, min } from '../support/stats.js';

const MESSAGE_BYTES = 4 * MIB;
const ROUNDS = 5;
/** Worst case ≤ this many times the plain input's time. */
const TARGET_SLOWDOWN = 3;
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

async function* chunksOf(bytes: Buffer): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += MIB) yield bytes.subarray(offset, offset + MIB);
}

interface MessageOutcome {
  readonly attachments: { path: string; fileName: string | null; bytes: number }[];
  readonly refused?: string;
  readonly work: MimeWork;
}

/** Reads a whole message as `POST /v1/files` does, every attachment to its end. */
async function readMessage(message: Buffer): Promise<MessageOutcome> {
  const work: MimeWork = { inputBytes: 0, units: 0, budget: 0 };
  const attachments: MessageOutcome['attachments'] = [];
  try {
    for await (const attachment of readAttachments(chunksOf(message), { maxBytes: MESSAGE_BYTES }, work)) {
      let bytes = 0;
      for await (const chunk of attachment.body) bytes += chunk.byteLength;
      attachments.push({ path: attachment.path, fileName: attachment.fileName, bytes });
    }
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return { attachments, refused: error.message, work };
  }
  return { attachments, work };
}

/** A message of `head` then `line` repeated up to `size` bytes. */
function message(head: string, line: string, size = MESSAGE_BYTES): Buffer {
  return Buffer.from(head + line.repeat(Math.floor((size - head.length) / line.length)), 'latin1');
}

const FLAT_HEAD = 'From: a@example.com\nContent-Type: application/octet-stream; name=a.bin\n\n';
const QP_HEAD = 'From: a@example.com\nContent-Type: text/csv; name=a.csv\nContent-Transfer-Encoding: quoted-printable\n\n';
const TEXT_LINE = `${'0123456789abcdef'.repeat(4)}0123456789a\n`; // 76 bytes

/** One case: a worst-case input and a plain one of the same size, each a function to time, and a check of what it gave. */
interface Case {
  readonly label: string;
  readonly target: string;
  readonly bytes: number;
  /** Calls per timing, so a case of a few milliseconds is measured over a span the clock resolves. */
  readonly repeat: number;
  worst(): Promise<unknown> | unknown;
  plain(): Promise<unknown> | unknown;
  /** Throws when the parser gave a wrong answer for either input. */
  check(worst: unknown, plain: unknown): void;
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`parsers: ${what}`);
}

function mimeCases(): Case[] {
  const nestedHead = `From: a@example.com\n${'Content-Type: message/rfc822\n\n'.repeat(31)}Content-Type: application/octet-stream\n\n`;
  const nested = message(nestedHead, '\n');
  const flat = message(FLAT_HEAD, TEXT_LINE);
  const softBreaks = message(QP_HEAD, '=\n');
  const qpText = message(QP_HEAD, TEXT_LINE.replace('\n', '=\n'));
  const reencodedHead = `From: a@example.com\n${'Content-Type: message/rfc822\nContent-Transfer-Encoding: quoted-printable\n\n'.repeat(8)}Content-Type: text/csv; name=a.csv\n\n`;
  const reencoded = message(reencodedHead, TEXT_LINE);

  const name = `${'é'.repeat(90_000)}.exe`; // 180 KB of UTF-8
  const word = `=?utf-8?B?${Buffer.from(name).toString('base64')}?=`;
  const encodedParam = `attachment; filename="${word}"`;
  const plainParam = `attachment; filename="${'a'.repeat(word.length)}"`;
  const percent = encodeURIComponent(name.slice(0, 33_334)); // about 200 KB of %XX escapes
  const rfc2231 = `attachment; filename*0*=UTF-8''${percent}`;
  const rfc2231Plain = `attachment; filename="${'a'.repeat(percent.length)}"`;
  const outcome = (value: unknown) => value as MessageOutcome;

  return [
    {
      label: 'message: 31 attached messages nested around newline-only lines, 4 MiB',
      target: 'nested messages',
      bytes: nested.length,
      repeat: 1,
      worst: () => readMessage(nested),
      plain: () => readMessage(flat),
      check(worst, plain) {
        const inner = outcome(worst).attachments;
        expect(inner.length === 1 && inner[0]!.path.split('.').length === 32, `nested message gave ${JSON.stringify(inner.map((a) => a.path))}`);
        expect(inner[0]!.bytes > nested.length - 2048, 'nested message lost its content');
        expect(outcome(plain).attachments[0]?.bytes === flat.length - FLAT_HEAD.length, 'flat message gave the wrong size');
      },
    },
    {
      label: 'message: quoted-printable of `=\\n` soft breaks only, 4 MiB',
      target: 'quoted-printable soft breaks',
      bytes: softBreaks.length,
      repeat: 1,
      worst: () => readMessage(softBreaks),
      plain: () => readMessage(qpText),
      check(worst, plain) {
        expect(outcome(worst).attachments[0]?.bytes === 0, 'soft breaks decoded to something');
        expect(outcome(plain).attachments[0]?.bytes === ((qpText.length - QP_HEAD.length) / 77) * 75, 'quoted-printable text decoded to the wrong size');
      },
    },
    {
      label: 'message: quoted-printable attached messages 8 deep (refused by the work budget), 4 MiB',
      target: 're-encoded nested messages (refused)',
      bytes: reencoded.length,
      repeat: 1,
      worst: () => readMessage(reencoded),
      plain: () => readMessage(qpText),
      check(worst, plain) {
        expect(outcome(worst).refused?.includes('too much work') === true, 're-encoded messages were not refused by the work budget');
        expect(outcome(plain).attachments.length === 1, 'flat quoted-printable message gave no attachment');
      },
    },
    {
      label: 'header: one 180 KB RFC 2047 encoded word as a parameter (parseStructuredHeader)',
      target: 'huge encoded word',
      bytes: word.length,
      repeat: 20,
      worst: () => parseStructuredHeader(encodedParam),
      plain: () => parseStructuredHeader(plainParam),
      check(worst) {
        expect((worst as ReturnType<typeof parseStructuredHeader>).params.get('filename') === name, 'the encoded word decoded wrong');
        expect(decodeEncodedWords(word) === name, 'the encoded word decoded wrong on its own');
      },
    },
    {
      label: "header: a 200 KB RFC 2231 filename*0*= (parseStructuredHeader)",
      target: 'huge RFC 2231 parameter',
      bytes: rfc2231.length,
      repeat: 20,
      worst: () => parseStructuredHeader(rfc2231),
      plain: () => parseStructuredHeader(rfc2231Plain),
      check(worst) {
        expect((worst as ReturnType<typeof parseStructuredHeader>).params.get('filename') === name.slice(0, 33_334), 'the RFC 2231 parameter decoded wrong');
      },
    },
  ];
}

function importCases(): Case[] {
  const defaults = { campaign: 'bench', source: 'bench' };
  const parse = (text: string, format: ImportFormat) => () => parseImport(text, { format, defaults });
  const records = (value: unknown) => (value as ReturnType<typeof parseImport>).records.length;
  const size = MESSAGE_BYTES;

  const listLine = `${SHA256}  sample.bin\n`;
  const plainList = listLine.repeat(Math.floor(size / listLine.length));
  const longLine = `${SHA256}${' '.repeat(size - SHA256.length - 'x.bin\n'.length)}x.bin\n`;
  const separatorList = plainList.replaceAll('\n', '\u2028');

  const hex = (i: number) => i.toString(16).padStart(64, '0');
  const comparison = (i: number) => `[file:hashes.'SHA-256' = '${hex(i)}']`;
  const bundle = (patterns: string[]) =>
    JSON.stringify({
      type: 'bundle',
      id: 'bundle--1',
      objects: patterns.map((pattern, i) => ({ type: 'indicator', id: `indicator--${i}`, name: 'bench', pattern_type: 'stix', pattern })),
    });
  const count = Math.floor(size / (comparison(0).length + 4));
  const manyOrs = bundle([Array.from({ length: count }, (_, i) => comparison(i)).join(' OR ')]);
  const plainBundleOf = (bytes: number) => {
    const one = bundle([comparison(0)]).length - bundle([]).length;
    return bundle(Array.from({ length: Math.max(1, Math.floor(bytes / one)) }, (_, i) => comparison(i)));
  };
  const plainStix = plainBundleOf(manyOrs.length);
  const spaces = (run: number) => bundle([`${comparison(1)}${' '.repeat(run)}OR ${comparison(2)}${' '.repeat(run)}AND`]);
  const spaces40k = spaces(40_000);
  const spaces4m = spaces(size / 2 - 200);

  return [
    {
      label: 'import, plain list: one 4 MiB line of a digest, white space and a name',
      target: 'long plain-list line',
      bytes: longLine.length,
      repeat: 1,
      worst: parse(longLine, 'plain'),
      plain: parse(plainList, 'plain'),
      check(worst, plain) {
        expect(records(worst) === 1, 'the long line did not give its one record');
        expect(records(plain) === 1, 'the plain list did not give its one record (the same digest on every line)');
      },
    },
    {
      label: 'import, plain list: 4 MiB of lines ended by U+2028',
      target: 'U+2028 line ends',
      bytes: separatorList.length,
      repeat: 1,
      worst: parse(separatorList, 'plain'),
      plain: parse(plainList, 'plain'),
      check(worst) {
        expect(records(worst) === 1, 'lines ended by U+2028 did not read as lines');
      },
    },
    {
      label: `import, STIX: one pattern of ${count.toLocaleString('en-US')} comparisons joined by OR, 4 MiB`,
      target: 'STIX pattern of many ORs',
      bytes: manyOrs.length,
      repeat: 1,
      worst: parse(manyOrs, 'stix'),
      plain: parse(plainStix, 'stix'),
      check(worst, plain) {
        expect(records(worst) === count, `the OR pattern gave ${records(worst)} records, not ${count}`);
        expect(records(plain) > 0, 'the plain bundle gave no record');
      },
    },
    {
      label: 'import, STIX: runs of 40,000 spaces around OR in one pattern',
      target: 'STIX pattern, 40,000-space runs',
      bytes: spaces40k.length,
      repeat: 10,
      worst: parse(spaces40k, 'stix'),
      plain: parse(plainBundleOf(spaces40k.length), 'stix'),
      check() {},
    },
    {
      label: 'import, STIX: runs of 2 MiB of spaces around OR in one pattern, 4 MiB',
      target: 'STIX pattern, 2 MiB space runs',
      bytes: spaces4m.length,
      repeat: 1,
      worst: parse(spaces4m, 'stix'),
      plain: parse(plainBundleOf(spaces4m.length), 'stix'),
      check() {},
    },
  ];
}

async function timed(fn: () => Promise<unknown> | unknown, repeat: number): Promise<{ ms: number; value: unknown }> {
  const started = performance.now();
  let value: unknown;
  for (let i = 0; i < repeat; i++) value = await fn();
  return { ms: (performance.now() - started) / repeat, value };
}

async function measure(result: ResultBuilder, cases: readonly Case[], log: (line: string) => void): Promise<void> {
  for (const c of cases) {
    const worst: number[] = [];
    const plain: number[] = [];
    // A first call of each warms the code up (and checks the answers); rounds interleave the two.
    const first = { worst: await timed(c.worst, 1), plain: await timed(c.plain, 1) };
    c.check(first.worst.value, first.plain.value);
    for (let round = 0; round < ROUNDS; round++) {
      worst.push((await timed(c.worst, c.repeat)).ms);
      plain.push((await timed(c.plain, c.repeat)).ms);
    }
    const mibPerS = (ms: number) => c.bytes / MIB / (ms / 1000);
    const detail = (ms: number[]) => `best of ${ROUNDS}: ${formatNumber(min(ms), 2)} ms (${ms.map((t) => formatNumber(t, 1)).join(', ')})`;
    const reference = result.row({ label: `  plain input, same size and parser`, value: mibPerS(min(plain)), unit: 'MiB/s', detail: detail(plain) });
    const row = result.compared({ label: c.label, value: mibPerS(min(worst)), unit: 'MiB/s', detail: detail(worst) }, reference);
    const slowdown = 1 / row.ratio!;
    log(`parsers: ${c.target}: ${formatNumber(min(worst), 1)} ms against ${formatNumber(min(plain), 1)} ms`);
    result.target(
      `${c.target}: ≤ ${TARGET_SLOWDOWN}× the time of a plain input of the same size`,
      `${formatRatio(slowdown)} (${formatNumber(min(worst), 1)} ms against ${formatNumber(min(plain), 1)} ms)`,
      slowdown <= TARGET_SLOWDOWN,
    );
  }
}

export const parsersBenchmark: Benchmark = {
  name: 'parsers',
  title: 'parser cost on worst-case inputs up to 4 MiB against plain inputs of the same size',
  async run(context, result) {
    const mime = mimeCases();
    await measure(result, mime, context.log);

    const reread = await readMessage(message(`From: a@example.com\n${'Content-Type: message/rfc822\n\n'.repeat(31)}Content-Type: application/octet-stream\n\n`, '\n'));
    result.note(
      `Work count of the nested message: ${reread.work.units.toLocaleString('en-US')} units for ${reread.work.inputBytes.toLocaleString('en-US')} bytes (budget ${reread.work.budget.toLocaleString('en-US')}): each byte is scanned once, whatever the nesting.`,
    );
    await measure(result, importCases(), context.log);
    result.note(
      'Each row is the worst case; the row above it is a plain input of the same size through the same function (a flat 4 MiB message of 76-byte lines; for quoted-printable cases, a flat message of quoted-printable text; a plain parameter of the same length, a plain list of checksum lines, a bundle of one comparison per indicator). The target is on the time ratio: the MiB/s ratio printed is its inverse.',
    );
    result.note(
      'Header parameters are at most 256 KiB (the header block limit of a message), so the header cases are timed at the sizes of the review (180 KB and 200 KB), each call repeated 20 times per round.',
    );
  },
};
