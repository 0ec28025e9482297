import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { KnownRecord } from '../../lambdas/core/records.js';

/** One row of the compiled 3CX IOC reference (`../shared/reference/3cx-iocs.csv`). */
export interface ReferenceRow {
  line: number;
  sha256: string;
  sha1: string;
  md5: string;
  fileName: string;
  platform: string;
  version: string;
  kind: string;
  stage: string;
  confidence: string;
  sources: string[];
}

/** The team's compiled reference, beside the checkout (present in CI and on the team's machines). */
export const SHARED_REFERENCE_CSV = fileURLToPath(new URL('../../../shared/reference/3cx-iocs.csv', import.meta.url));
/** The copy kept with the tests, so a clone on its own runs them too; a test keeps it equal to the shared one. */
export const FIXTURE_REFERENCE_CSV = fileURLToPath(new URL('../fixtures/3cx-iocs.csv', import.meta.url));
export const REFERENCE_CSV = existsSync(SHARED_REFERENCE_CSV) ? SHARED_REFERENCE_CSV : FIXTURE_REFERENCE_CSV;

/** Reads the reference CSV. Its fields hold no commas or quotes; sources are separated by semicolons. */
export function readReferenceRows(path = REFERENCE_CSV): ReferenceRow[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  if (header !== 'sha256,sha1,md5,file_name,platform,version,kind,stage,confidence,sources') {
    throw new Error(`Unexpected reference header: ${header}`);
  }
  return lines.map((line, i) => {
    const [sha256, sha1, md5, fileName, platform, version, kind, stage, confidence, sources] = line.split(',');
    return {
      line: i + 2,
      sha256: sha256!,
      sha1: sha1!,
      md5: md5!,
      fileName: fileName!,
      platform: platform!,
      version: version!,
      kind: kind!,
      stage: stage!,
      confidence: confidence!,
      sources: sources!.split(';'),
    };
  });
}

/** The 68-byte EICAR anti-malware test string. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** The EICAR test file's record as the seed list holds it, for tests that give a store one known-bad record. */
export const EICAR_RECORD: KnownRecord = {
  sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f' as HashHex,
  sha1: '3395856ce81f2b7382dee72602f798b642f14140' as HashHex,
  md5: '44d88612fea8a8f36de82e1278abb02f' as HashHex,
  size: 68,
  fileName: 'eicar.com',
  platform: 'any',
  version: 'n/a',
  kind: 'test-file',
  stage: 'test',
  campaign: 'EICAR anti-malware test file',
  confidence: 'high',
  sources: ['https://www.eicar.org/'],
  addedAt: '2023-03-30T12:34:56.789Z',
};
