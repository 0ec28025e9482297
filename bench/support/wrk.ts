/**
 * Per-hash lookups at full speed: `wrk` (a C load generator, far lighter than a Node client on two
 * shared cores) sending `GET /v1/hashes/{hash}` over keep-alive connections, each answer checked by a Lua
 * script: a 200 whose verdict is `malicious` exactly for the hashes known to be on the list.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './process.js';

export interface WrkReport {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Answers that were not a 200 with the right verdict, and socket errors. */
  readonly wrong: number;
  readonly malicious: number;
  readonly socketErrors: number;
  /** One wrong answer, for the error message. */
  readonly example: string;
}

/** Whether `wrk` is installed; when it is not and this runs as root, installs it with apt-get. */
export function ensureWrk(log: (line: string) => void): boolean {
  const found = () => spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0;
  if (found()) return true;
  if (process.getuid?.() !== 0) return false;
  log('installing wrk (apt-get install -y wrk)');
  spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'ignore' });
  return found();
}

const SCRIPT = `
local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  paths = {}
  known = {}
  for line in io.lines(args[1]) do
    local kind, hash = line:match("^(%a+) (%x+)$")
    table.insert(paths, "/v1/hashes/" .. hash)
    if kind == "known" then known[hash] = true end
  end
  n = math.random(#paths)
  wrong = 0
  malicious = 0
  example = ""
end

function request()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end

function response(status, headers, body)
  local hash = body:match('^{"hash":"(%x+)"')
  local verdict = body:match('"verdict":"(%a+)"')
  local right = status == 200 and hash ~= nil and ((known[hash] and verdict == "malicious") or (not known[hash] and verdict == "unknown"))
  if verdict == "malicious" then malicious = malicious + 1 end
  if not right then
    wrong = wrong + 1
    if example == "" then example = status .. " " .. body:sub(1, 200) end
  end
end

function done(summary, latency, requests)
  local w, m, e = 0, 0, ""
  for _, t in ipairs(threads) do
    w = w + t:get("wrong")
    m = m + t:get("malicious")
    if e == "" then e = t:get("example") end
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("WRK %d %d %d %d %d %d %d %s\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), w, m, errors, e:gsub("\\n", " ")))
end
`;

/**
 * Writes the script and the hash list into `dir`: `known` hashes answer malicious, `unknown` ones
 * unknown; each connection walks the list from its own random place.
 */
export function prepareWrk(dir: string, known: readonly string[], unknown: readonly string[]): { script: string; hashes: string } {
  const script = join(dir, 'per-hash.lua');
  const hashes = join(dir, 'per-hash.txt');
  writeFileSync(script, SCRIPT);
  const lines: string[] = [];
  for (let i = 0; i < Math.max(known.length, unknown.length); i++) {
    if (i < unknown.length) lines.push(`unknown ${unknown[i]}`);
    if (i < known.length) lines.push(`known ${known[i]}`);
  }
  writeFileSync(hashes, `${lines.join('\n')}\n`);
  return { script, hashes };
}

/** Runs wrk against `url` for `seconds` with `connections` connections on `threads` threads. */
export async function runWrk(
  url: string,
  files: { script: string; hashes: string },
  options: { connections: number; threads: number; seconds: number },
): Promise<WrkReport> {
  const { stdout } = await run('wrk', [
    '-t',
    String(options.threads),
    '-c',
    String(options.connections),
    '-d',
    `${options.seconds}s`,
    '--timeout',
    '30s',
    '-s',
    files.script,
    url,
    '--',
    files.hashes,
  ]);
  const line = stdout.split('\n').find((l) => l.startsWith('WRK '));
  if (!line) throw new Error(`wrk printed no summary: ${stdout.slice(-1000)}`);
  const [requests, durationUs, p50Us, p99Us, wrong, malicious, socketErrors] = line.split(' ').slice(1, 8).map(Number) as number[];
  const seconds = durationUs! / 1e6;
  return {
    requests: requests!,
    seconds,
    perSecond: requests! / seconds,
    p50Ms: p50Us! / 1000,
    p99Ms: p99Us! / 1000,
    wrong: wrong!,
    malicious: malicious!,
    socketErrors: socketErrors!,
    example: line.split(' ').slice(8).join(' '),
  };
}
