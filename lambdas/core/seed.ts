import { z } from 'zod';
import { InvalidRecordError } from './errors.js';
import { parseHash, type HashAlgorithm, type HashHex } from './hashes.js';
import { RECORD_KINDS, type KnownRecord } from './records.js';

const text = (max: number) => z.string().trim().min(1).max(max);

function digestOf(algorithm: HashAlgorithm) {
  return z
    .string()
    .transform((value, ctx): HashHex => {
      try {
        const parsed = parseHash(value);
        if (parsed.algorithm === algorithm) return parsed.hash;
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `is a ${parsed.algorithm} digest, not ${algorithm}` });
      } catch (error) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
      }
      return z.NEVER;
    })
    .optional();
}

/** The schema of one known-bad record as the project stores it (`data/known-bad.jsonl`, imports). */
export const knownRecordSchema = z
  .object({
    sha256: digestOf('sha256'),
    sha1: digestOf('sha1'),
    md5: digestOf('md5'),
    size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    fileName: text(512),
    platform: text(64),
    version: text(128),
    kind: z.enum(RECORD_KINDS),
    stage: text(64),
    campaign: text(256),
    confidence: text(32),
    sources: z.array(text(2048)).min(1).max(100),
    addedAt: z.string().datetime().optional(),
  })
  .strict()
  .refine((r) => r.sha256 || r.sha1 || r.md5, { message: 'a record needs at least one of sha256, sha1, md5' });

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'record'}: ${issue.message}`).join('; ');
}

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
      throw new InvalidRecordError(`${sourceName} line ${lineNumber}: ${describeIssues(result.error)}`);
    }
    const record = result.data as KnownRecord;
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
