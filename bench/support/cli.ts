import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `hashcheck` CLI this project declares in `package.json` "bin" — what `npx hashcheck` runs inside the
 * project (npm does not link a project's own bin into its node_modules/.bin) — or `undefined` when it
 * declares none. `HASHCHECK_BENCH_CLI` names another executable to measure instead (an installed release, say).
 */
export function findCli(projectRoot: string): string | undefined {
  const override = process.env['HASHCHECK_BENCH_CLI'];
  if (override) return override;
  const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  const entry = manifest.bin?.['hashcheck'];
  const path = entry === undefined ? undefined : join(projectRoot, entry);
  return path !== undefined && existsSync(path) ? path : undefined;
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
