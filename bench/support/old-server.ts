/**
 * The local server as it was before the embedded store (commit d0ec676: dynalite and s3rver inside the
 * server's process, run through tsx), so a benchmark can measure it in the same run as today's server.
 * Its sources are taken with `git archive` into a temporary folder outside the checkout (nothing in the
 * repository changes), beside a link to this checkout's `node_modules`, which holds every package it needs.
 */
import type { ChildProcess } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from './data.js';
import { run, startChild, stopChild, tsNodeArgs } from './process.js';

/** The last commit of the server on emulators. */
export const OLD_SERVER_COMMIT = 'd0ec676';

export interface OldServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Extracts the old sources once and starts the old `npm start` (`tsx bin/local-server.ts`) on a free port. */
export async function startOldServer(projectRoot: string): Promise<OldServer> {
  const folder = await scratchDir('old-server');
  let child: ChildProcess;
  let url: string;
  try {
    const tar = join(folder.path, 'source.tar');
    await run('git', ['archive', '--format=tar', '-o', tar, OLD_SERVER_COMMIT], { cwd: projectRoot });
    const source = join(folder.path, 'source');
    await run('mkdir', [source]);
    await run('tar', ['-xf', tar, '-C', source]);
    symlinkSync(join(projectRoot, 'node_modules'), join(source, 'node_modules'), 'dir');
    const started = await startChild(process.execPath, tsNodeArgs('bin/local-server.ts'), /hashcheck is listening on (http:\/\/\S+)/, {
      cwd: source,
      env: { ...process.env, PORT: '0', HASHCHECK_DATA_DIR: join(folder.path, 'data'), POWERTOOLS_LOG_LEVEL: 'ERROR' },
      timeoutMs: 180_000,
    });
    child = started.child;
    url = started.match[1]!;
  } catch (error) {
    await folder.dispose();
    throw error;
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      await stopChild(child);
      await folder.dispose();
    },
  };
}
