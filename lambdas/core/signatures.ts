import { recordDigests, type KnownRecord, type RecordKind } from './records.js';

/**
 * ClamAV platforms by the `platform` of a record. Anything not listed runs anywhere as far as the list
 * knows, which ClamAV calls `Multios`.
 */
const PLATFORMS: Readonly<Record<string, string>> = {
  windows: 'Win',
  macos: 'Osx',
  linux: 'Unix',
  android: 'Andr',
  ios: 'Ios',
};

/** ClamAV categories by record kind: a trojanized installer or library is a Trojan in ClamAV's words. */
const CATEGORIES: Readonly<Record<RecordKind, string>> = {
  installer: 'Trojan',
  library: 'Trojan',
  executable: 'Trojan',
  payload: 'Trojan',
  stealer: 'Infostealer',
  'test-file': 'Test',
  other: 'Malware',
  container: 'Trojan',
};

/** ClamAV takes letters, digits, `-`, `.` and `_` in a name; the parts of ours must hold no `.` or `-`. */
function namePart(text: string, maxLength: number): string {
  return text
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, maxLength)
    .replace(/_+$/, '');
}

/**
 * The signature name of a record, following ClamAV's `Platform.Category.Name-Id-Rev` convention, e.g.
 * `Win.Trojan.3CXDesktopApp_exe-123456789-1`. The name comes from the first word of the file name (what
 * a gateway log reader recognises), prefixed with the first word of the campaign unless the file name
 * already starts with it; the id is the first 28 bits of the record's strongest digest, so the name of a
 * record never changes between exports. Only letters, digits, `_`, `.` and `-` appear, as ClamAV requires.
 */
export function signatureName(record: KnownRecord): string {
  const platform = PLATFORMS[record.platform.trim().toLowerCase()] ?? 'Multios';
  // A container found bad through a member is named after that member, in the member's category, with
  // `Container` in the name: `Osx.Trojan.3CX_Container_libffmpeg-123456789-1`.
  const derived = record.derived;
  const category = CATEGORIES[derived ? derived.memberRecord.kind : record.kind] ?? 'Malware';
  const firstWord = (text: string) => text.split(/[\s(]/)[0] ?? '';
  const file = namePart(derived ? `Container_${firstWord(derived.memberRecord.fileName)}` : firstWord(record.fileName), 40);
  const campaign = namePart(record.campaign.split(/\s/)[0] ?? '', 16);
  const name =
    campaign !== '' && !file.toLowerCase().startsWith(campaign.toLowerCase())
      ? [campaign, file].filter((p) => p !== '').join('_')
      : file || campaign || 'Hashcheck';
  const id = parseInt(recordDigests(record)[0]!.hash.slice(0, 7), 16);
  return `${platform}.${category}.${name}-${id}-1`;
}
