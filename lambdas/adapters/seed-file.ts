import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseRecordLines } from '../core/seed.js';
import type { KnownRecord } from '../core/records.js';

/** Reads and validates a record list in the project's format (JSON Lines); a bad line fails with its number. */
export async function readRecordFile(path: string): Promise<KnownRecord[]> {
  return parseRecordLines(await readFile(path, 'utf8'), basename(path));
}
