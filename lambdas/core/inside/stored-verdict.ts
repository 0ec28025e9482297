import type { FileVerdict } from '../schemas.js';

/**
 * A verdict cut to fit where it is kept: a scan's row holds at most a few hundred KB (a DynamoDB item
 * 400 KB), and an archive of thousands of listed members, or of thousands of damaged ones, answers more.
 * The verdict, the file's digests, its own matches and the counts are kept whole; of the member matches
 * and the reasons, the first ones are kept (in the order the look inside met them), the rest counted in
 * `inside.matchesLeftOut` and `inside.reasonsLeftOut`. Matches come before reasons: they name what made
 * the file bad. Never fails: a file whose matches cannot be kept is still answered malicious.
 */
export function verdictWithin(file: FileVerdict, maxBytes: number): FileVerdict {
  const inside = file.inside;
  if (!inside || jsonBytes(file) <= maxBytes) return file;
  // The verdict with no member matches or reasons, and room for the two counts at their largest.
  const bare = jsonBytes({ ...file, inside: { ...inside, matches: [], reasons: [], matchesLeftOut: 1e9, reasonsLeftOut: 1e9 } });
  let room = maxBytes - bare;
  const matches = taken(inside.matches, (share) => (room -= share), () => room);
  const reasons = taken(inside.reasons, (share) => (room -= share), () => room);
  return {
    ...file,
    inside: {
      ...inside,
      matches,
      reasons,
      ...(matches.length < inside.matches.length && { matchesLeftOut: inside.matches.length - matches.length }),
      ...(reasons.length < inside.reasons.length && { reasonsLeftOut: inside.reasons.length - reasons.length }),
    },
  };
}

/** The first items that fit the room left, each taking its JSON and a comma. */
function taken<T>(items: readonly T[], spend: (bytes: number) => void, left: () => number): T[] {
  const kept: T[] = [];
  for (const item of items) {
    const bytes = jsonBytes(item) + 1;
    if (bytes > left()) break;
    spend(bytes);
    kept.push(item);
  }
  return kept;
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of a value's JSON, as it is stored. */
function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}
