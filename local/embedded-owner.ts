import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PRIVATE_FILE_MODE } from './embedded-folder.js';

/** The process that has a data folder's store open, as written in the folder's lock file. */
export interface StoreOwner {
  readonly pid: number;
  readonly host: string;
  /** When the process started, in clock ticks since boot (Linux), so a reused process id is not taken for it. */
  readonly startTicks?: string;
}

/** A second server asked for a data folder whose store another hashcheck server has open. */
export class StoreInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: StoreOwner | undefined,
  ) {
    const who = owner ? ` (process ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`})` : ' (in this process)';
    super(
      `The data folder ${dataDir} is in use by another hashcheck server${who}. Stop that server first, or give this one ` +
        `its own folder with HASHCHECK_DATA_DIR.` +
        (owner && owner.host !== hostname() ? ` If no server runs there any more, delete ${dataDir}/server.lock.` : ''),
    );
    this.name = 'StoreInUseError';
  }
}

/** The start time of process `pid` from /proc, or `undefined` where there is no /proc or no such process. */
function startTicksOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces; starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** This process, as it writes itself into a lock file. */
export function currentOwner(): StoreOwner {
  const startTicks = startTicksOf(process.pid);
  return { pid: process.pid, host: hostname(), ...(startTicks && { startTicks }) };
}

function isSameProcess(a: StoreOwner, b: StoreOwner): boolean {
  return a.pid === b.pid && a.host === b.host && a.startTicks === b.startTicks;
}

/**
 * Whether `owner` still runs. A process on another host cannot be checked and counts as running; on this
 * host a process that is gone, or whose id now belongs to a process started at another time, does not.
 */
function isRunning(owner: StoreOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const startTicks = startTicksOf(owner.pid);
  return owner.startTicks === undefined || startTicks === undefined || startTicks === owner.startTicks;
}

function readOwner(lockFile: string): StoreOwner | undefined {
  let text: string;
  try {
    text = readFileSync(lockFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<StoreOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
      return { pid: parsed.pid, host: parsed.host, ...(typeof parsed.startTicks === 'string' && { startTicks: parsed.startTicks }) };
    }
  } catch {
    // A lock file cut short by a crash while it was written: nobody holds it.
  }
  return undefined;
}

/**
 * Takes the lock file for this process, or throws StoreInUseError when a running process holds it. A lock
 * left by a process that was killed is taken over. Must run while the caller holds a lock that every
 * other opener takes too (the database's write lock), so two servers starting at once cannot both win.
 */
export function claimOwnership(dataDir: string, lockFile: string, me: StoreOwner = currentOwner()): void {
  const owner = readOwner(lockFile);
  if (owner && !isSameProcess(owner, me) && isRunning(owner)) throw new StoreInUseError(dataDir, owner);
  writeFileSync(lockFile, JSON.stringify(me), { mode: PRIVATE_FILE_MODE });
  chmodSync(lockFile, PRIVATE_FILE_MODE);
}

/** Removes the lock file if this process still holds it. */
export function releaseOwnership(lockFile: string, me: StoreOwner = currentOwner()): void {
  const owner = readOwner(lockFile);
  if (owner && isSameProcess(owner, me)) rmSync(lockFile, { force: true });
}
