import type { ContainerSighting, ContainerSightings } from './derived.js';
import type { HashAlgorithm, HashHex, HashInput, ParsedHash } from './hashes.js';
import { toRecordView, type KnownRecord } from './records.js';
import type { BulkResult, BulkSummary, HashVerdict } from './schemas.js';

/**
 * The port through which core reads the known-bad list. Implementations answer for every hash they
 * were asked about or throw `UpstreamUnavailableError`: a partial answer must never be returned, since
 * a missing entry would read as `unknown`.
 */
export interface HashStore {
  /** Returns the records of those hashes that are known-bad; hashes not in the map are not on the list. */
  getMany(hashes: readonly HashHex[]): Promise<ReadonlyMap<HashHex, KnownRecord>>;
}

export type { BulkResult, BulkSummary, HashVerdict, Verdict } from './schemas.js';

function verdictOf(
  parsed: ParsedHash,
  found: ReadonlyMap<HashHex, KnownRecord>,
  containedIn: ReadonlyMap<HashHex, readonly ContainerSighting[]>,
): HashVerdict {
  const record = found.get(parsed.hash);
  // The containers a file was found in are told with its known-bad verdict: a hash off the list is answered alone.
  const containers = record === undefined || containedIn.size === 0 ? undefined : containedIn.get(parsed.hash);
  // Built by assignment, in the field order of the answer: a bulk answer makes ten thousand of these.
  const verdict: HashVerdict = {
    hash: parsed.hash,
    algorithm: parsed.algorithm,
    verdict: record ? 'malicious' : 'unknown',
    match: record ? toRecordView(record) : null,
  };
  if (containers && containers.length > 0) verdict.containedIn = containers.map((c) => ({ ...c, path: [...c.path] }));
  return verdict;
}

/**
 * Looks up validated hashes. Each distinct hash is asked of the store once; the answer keeps the
 * order of the input, duplicates included. A store that keeps container sightings answers, in the same
 * read, the containers each hash was seen in (`containedIn`). Store failures propagate (fail closed).
 */
export async function lookupHashes(
  hashes: readonly ParsedHash[],
  deps: { store: HashStore & Partial<ContainerSightings> },
): Promise<HashVerdict[]> {
  const distinct = [...new Set(hashes.map((h) => h.hash))];
  const { records, containedIn } =
    distinct.length === 0
      ? { records: new Map<HashHex, KnownRecord>(), containedIn: new Map<HashHex, ContainerSighting[]>() }
      : deps.store.getManyWithContainers
        ? await deps.store.getManyWithContainers(distinct)
        : { records: await deps.store.getMany(distinct), containedIn: new Map<HashHex, ContainerSighting[]>() };
  return hashes.map((parsed) => verdictOf(parsed, records, containedIn));
}

/**
 * Answers a bulk list: one result per input in input order, invalid inputs reported in place, and a
 * summary of the counts.
 */
export async function lookupHashList(
  inputs: readonly HashInput[],
  deps: { store: HashStore & Partial<ContainerSightings> },
): Promise<{ results: BulkResult[]; summary: BulkSummary }> {
  const valid = inputs.flatMap((item) => ('parsed' in item ? [item.parsed] : []));
  const verdicts = await lookupHashes(valid, deps);
  const summary: BulkSummary = { total: inputs.length, malicious: 0, unknown: 0, invalid: 0 };
  let next = 0;
  const results = inputs.map((item): BulkResult => {
    if ('error' in item) {
      summary.invalid += 1;
      return { input: item.input, error: { code: item.error.code, message: item.error.message } };
    }
    const { hash, algorithm, verdict, match, containedIn } = verdicts[next++]!;
    summary[verdict] += 1;
    const result: BulkResult = { input: item.input, hash, algorithm, verdict, match };
    if (containedIn) result.containedIn = containedIn;
    return result;
  });
  return { results, summary };
}
