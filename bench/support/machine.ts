import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { run } from './process.js';

/** The machine the figures came from, recorded with them. */
export interface Machine {
  readonly cpuModel: string;
  /** What `nproc` reports: the cores this process may use. */
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly openssl: string;
  /** Whether the CPU has the SHA extensions (`sha_ni`): without them SHA-256 runs at a fraction of the speed. */
  readonly shaNi: boolean;
  readonly kernel: string;
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = safeRead('/proc/cpuinfo');
  const openssl = await run('openssl', ['version']).then(
    (r) => r.stdout.trim().split(' ').slice(1, 2).join(' '),
    () => 'missing',
  );
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    openssl,
    shaNi: /\bsha_ni\b/.test(cpuinfo),
    kernel: safeRead('/proc/sys/kernel/osrelease').trim(),
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
