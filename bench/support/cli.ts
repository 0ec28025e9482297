import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `hashcheck` CLI as npm links it from `package.json` "bin", or `undefined` while the project does
 * not declare it (or `npm install` has not linked it yet). Benchmarks use it as soon as it is there.
 * `HASHCHECK_BENCH_CLI` names another executable to measure instead (an installed release, say).
 */
export function findCli(projectRoot: string): string | undefined {
  const override = process.env['HASHCHECK_BENCH_CLI'];
  if (override) return override;
  const path = join(projectRoot, 'node_modules', '.bin', 'hashcheck');
  return existsSync(path) ? path : undefined;
}

/** The JSON lines of a `--json` output, skipping anything that is not a JSON object. */
export function parseJsonLines(text: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) continue;
    try {
      objects.push(JSON.parse(trimmed) as Record<string, unknown>);
    } catch {
      // A line that is not JSON (a progress or summary line) is not a result.
    }
  }
  return objects;
}
