import type { Database, RootDatabase } from 'lmdb';
import { mergeSightings, type ContainerSighting, type Sighting } from '../lambdas/core/derived.js';
import { UpstreamUnavailableError } from '../lambdas/core/errors.js';
import type { HashHex } from '../lambdas/core/hashes.js';
import { containerSightingSchema } from '../lambdas/core/schemas.js';

/**
 * The containers each known-bad member was found in (`containedIn`), in the embedded database: a database
 * of its own, by member digest, so listings, counts and exports of the list never meet it, and a change
 * of it is no change of the list (its version stays).
 */

/** The name of the database within the data folder's LMDB environment. */
export const SIGHTINGS_DATABASE = 'sightings';

/**
 * The containers of one stored value (none when there is no value). A value not in that shape is a store
 * that could not be read: refused, as a record would be, never answered as "seen in no container" or
 * overwritten by the next sighting.
 * @throws UpstreamUnavailableError naming the digest.
 */
function sightingsOf(hash: HashHex, stored: unknown): ContainerSighting[] {
  if (stored === undefined) return [];
  const parsed = Array.isArray(stored) ? stored.map((value) => containerSightingSchema.safeParse(value)) : [];
  if (!Array.isArray(stored) || parsed.some((result) => !result.success)) {
    throw new UpstreamUnavailableError(`The containers listed for ${hash} are not valid sightings; they were not used.`);
  }
  return parsed.map((result) => result.data!);
}

/** The containers each of `hashes` was found in, newest first; hashes found in none are absent. */
export function readSightings(db: Database<unknown, string>, hashes: readonly HashHex[]): Map<HashHex, readonly ContainerSighting[]> {
  const found = new Map<HashHex, readonly ContainerSighting[]>();
  for (const hash of hashes) {
    const listed = sightingsOf(hash, db.get(hash));
    if (listed.length > 0) found.set(hash, listed);
  }
  return found;
}

/**
 * Adds containers to their members' lists (see `mergeSightings`) in one batch: a list that does not change
 * is not written. Run it in the store's write queue, so what it reads is what the write before committed.
 */
export async function addSightings(root: RootDatabase, db: Database<unknown, string>, sightings: readonly Sighting[]): Promise<void> {
  const byMember = new Map<HashHex, ContainerSighting[]>();
  for (const { member, container } of sightings) (byMember.get(member) ?? byMember.set(member, []).get(member)!).push(container);
  try {
    const changed: [HashHex, ContainerSighting[]][] = [];
    for (const [member, added] of byMember) {
      const merged = mergeSightings(sightingsOf(member, db.get(member)), added);
      if (merged) changed.push([member, merged]);
    }
    if (changed.length === 0) return;
    await root.batch(() => {
      for (const [member, merged] of changed) db.put(member, merged);
    });
  } catch (error) {
    throw new UpstreamUnavailableError('The containers a file was found in could not be written.', { cause: error });
  }
}
