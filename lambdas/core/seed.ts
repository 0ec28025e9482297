import { InvalidRecordError } from './errors.js';
import type { KnownRecord } from './records.js';
import { describeIssues, recordInputSchema } from './schemas.js';

/** The schema of one known-bad record as the project stores it (`data/known-bad.jsonl`, imports). */
export const knownRecordSchema = recordInputSchema;

/**
 * Parses the project's record list: JSON Lines, one record per line; blank lines are skipped.
 * Every line is validated, and so is the list as a whole: a digest may belong to one record only.
 * @throws InvalidRecordError naming the first bad line and what is wrong with it.
 */
export function parseRecordLines(content: string, sourceName = 'record list'): KnownRecord[] {
  const records: KnownRecord[] = [];
  const ownerLine = new Map<string, number>();
  const lines = content.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const lineNumber = index + 1;
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (error) {
      throw new InvalidRecordError(`${sourceName} line ${lineNumber}: not valid JSON (${(error as Error).message})`, {
        cause: error,
      });
    }
    const result = knownRecordSchema.safeParse(raw);
    if (!result.success) {
      throw new InvalidRecordError(`${sourceName} line ${lineNumber}: ${describeIssues(result.error, 'record')}`);
    }
    const record: KnownRecord = result.data;
    for (const digest of [record.sha256, record.sha1, record.md5]) {
      if (!digest) continue;
      const earlier = ownerLine.get(digest);
      if (earlier !== undefined) {
        throw new InvalidRecordError(`${sourceName} line ${lineNumber}: digest ${digest} is already on line ${earlier}`);
      }
      ownerLine.set(digest, lineNumber);
    }
    records.push(record);
  }
  return records;
}
