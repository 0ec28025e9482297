import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lambdas/core/errors.js';
import { detectFormat, parseCsv, parseImport } from '../../lambdas/core/import-formats.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

describe('detectFormat', () => {
  it.each([
    ['a STIX bundle', fixture('stix-bundle.json'), 'stix'],
    ['a MISP event', fixture('misp-event.json'), 'misp'],
    ['JSON Lines', '{"md5":"a"}\n{"md5":"b"}\n', 'jsonl'],
    ['a CSV with a hash column', 'sha256,file_name\nabc,x\n', 'csv'],
    ['a plain list', 'f3d4144860ca10ba60f7ef4d176cc736\n', 'plain'],
    ['sha256sum output', 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868  setup.msi\n', 'plain'],
    ['hashdeep output without its first header line', '%%%% size,md5,sha256,filename\n## $ hashdeep -r .\n', 'plain'],
  ])('recognises %s', (_name, text, format) => {
    expect(detectFormat(text)).toBe(format);
  });
});

describe('parseImport', () => {
  it('turns a STIX bundle into one record per described file, with campaign and sources', () => {
    const { format, records, rejected } = parseImport(fixture('stix-bundle.json'));
    expect(format).toBe('stix');
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      sha256: '1f3c5b0d4a3e6f8f2b9b4c2d1e0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e',
      md5: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
      fileName: 'glassdoor.dll',
      campaign: 'GlassDoor loader',
      confidence: 'high',
      sources: ['https://cert.example/advisories/2026-001', 'Example CERT'],
    });
    expect(records[1]).toMatchObject({ sha1: '9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3', campaign: 'GlassDoor droppers' });
    expect(rejected).toEqual([
      { line: null, input: 'indicator--0b1f6e34-a1f5-4b3c-9b55-1fd2e1b7c7a1', reason: expect.stringContaining('not-a-hash') },
    ]);
  });

  it('turns a MISP event into records for hash attributes, filename pairs and file objects', () => {
    const { records, rejected } = parseImport(fixture('misp-event.json'));
    expect(records.map((r) => [r.fileName, r.sha256 ?? r.md5])).toEqual([
      ['unknown', '2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4a6b8d0f1e3a5c7b9d1f'],
      ['vpnclient-setup.exe', '9f8e7d6c5b4a39281706f5e4d3c2b1a0'],
      ['vpnhelper.dll', '7e9a1c3b5d7f9e1a3c5b7d9f1e3a5c7b9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a'],
    ]);
    expect(records[2]).toMatchObject({ sha1: '1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e3a5c7b9d', md5: '3c5b7d9f1e3a5c7b9d1f3e5a7c9b1d3f' });
    expect(records.every((r) => r.campaign === 'Trojanized VPN client installers' && r.confidence === 'high')).toBe(true);
    expect(records[0]!.sources[0]).toContain('5f2d3a10-9c8e-4b1f-a2d3-4e5f60718293');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.input).toBe('a1000000-0000-4000-8000-000000000004');
  });

  it('reads our CSV with quoted fields and reports bad rows with their line numbers', () => {
    const csv = [
      'sha256,sha1,md5,file_name,platform,version,kind,stage,campaign,confidence,sources',
      `${'a'.repeat(64)},,,"setup, final.msi",windows,1.0,installer,supply-chain,Test campaign,high,"report one;report two"`,
      `${'b'.repeat(63)},,,x.dll,windows,1.0,library,supply-chain,Test campaign,high,report`,
      `,,${'c'.repeat(32)},y.dll,windows,1.0,virus,supply-chain,Test campaign,high,report`,
    ].join('\r\n');
    const { records, rejected } = parseImport(csv);
    expect(records).toEqual([
      expect.objectContaining({ sha256: 'a'.repeat(64), fileName: 'setup, final.msi', sources: ['report one', 'report two'] }),
    ]);
    expect(rejected.map((r) => [r.line, r.reason])).toEqual([
      [3, expect.stringContaining('63 hex')],
      [4, expect.stringContaining('kind')],
    ]);
  });

  it('reads a plain list with the campaign and source given as parameters, taking names from sha256sum lines', () => {
    const text = `# from the EDR\n${'d'.repeat(64)}  C:\\Users\\a\\Downloads\\tool.exe\n${'e'.repeat(40)}\nnope\n`;
    const { records, rejected } = parseImport(text, { defaults: { campaign: 'Incident 42', source: 'EDR export 2026-11-20' } });
    expect(records).toEqual([
      expect.objectContaining({ sha256: 'd'.repeat(64), fileName: 'tool.exe', campaign: 'Incident 42', sources: ['EDR export 2026-11-20'] }),
      expect.objectContaining({ sha1: 'e'.repeat(40), fileName: 'unknown' }),
    ]);
    expect(rejected).toEqual([{ line: 4, input: 'nope', reason: expect.stringContaining('hex') }]);
  });

  it('reads a hashdeep list into one record per file with its MD5 and SHA-256, skipping header and comments', () => {
    const md5 = 'f3d4144860ca10ba60f7ef4d176cc736';
    const sha256 = 'd'.repeat(64);
    const text = ['%%%% HASHDEEP-1.0', '%%%% size,md5,sha256,filename', '## Invoked from: C:\\', '##', `4096,${md5},${sha256},C:\\Users\\a\\tool, v2.exe`, `12,${md5.slice(1)},${'e'.repeat(64)},b.exe`].join('\n');
    const { format, records, rejected } = parseImport(text, { defaults: { campaign: 'Incident 42', source: 'hashdeep of the host' } });
    expect(format).toBe('plain');
    expect(records).toEqual([expect.objectContaining({ md5, sha256, fileName: 'tool, v2.exe', campaign: 'Incident 42' })]);
    expect(rejected).toEqual([{ line: 6, input: expect.stringContaining('b.exe'), reason: expect.stringContaining('31 hex') }]);
  });

  it('rejects a tagged line whose hash is not of the algorithm its tag names', () => {
    const { records, rejected } = parseImport(`SHA256 (a.exe) = ${'f'.repeat(32)}\nMD5 (b.exe) = ${'e'.repeat(32)}\n`, { defaults: { campaign: 'c', source: 's' } });
    expect(records).toEqual([expect.objectContaining({ md5: 'e'.repeat(32), fileName: 'b.exe' })]);
    expect(rejected).toEqual([{ line: 1, input: expect.any(String), reason: expect.stringContaining('not sha256') }]);
  });

  it('reads a CSV field quoted after a space as quoted, as the command line does', () => {
    const csv = `sha256, file_name, campaign, sources\n${'a'.repeat(64)}, "setup, final.msi", c, "one; two"\n`;
    const { records, rejected } = parseImport(csv);
    expect(rejected).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ fileName: 'setup, final.msi', sources: ['one', 'two'] })]);
  });

  it('refuses a plain list without provenance as a whole', () => {
    expect(() => parseImport('f3d4144860ca10ba60f7ef4d176cc736\n')).toThrow(InvalidRequestError);
  });

  it('rejects the second input that claims a digest already in the feed', () => {
    const line = JSON.stringify({ md5: 'f'.repeat(32), fileName: 'a', platform: 'p', version: 'v', kind: 'other', stage: 's', campaign: 'c', confidence: 'high', sources: ['s'] });
    const { records, rejected } = parseImport(`${line}\n${line}\n`);
    expect(records).toHaveLength(1);
    expect(rejected).toEqual([{ line: 2, input: line, reason: expect.stringContaining('line 1') }]);
  });

  it('refuses a STIX format override on text that is not JSON', () => {
    expect(() => parseImport('not json', { format: 'stix' })).toThrow(/not valid JSON/);
  });
});

describe('parseImport on odd input', () => {
  const SHA256 = 'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868';
  const MD5 = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
  const plain = { format: 'plain' as const, defaults: { campaign: 'Incident 42', source: 'EDR export' } };
  const bundle = (indicator: Record<string, unknown>) =>
    JSON.stringify({ type: 'bundle', id: 'bundle--1', objects: [{ type: 'indicator', id: 'indicator--1', name: 'c', ...indicator }] });

  it.each([
    ['U+2028', '\u2028'],
    ['U+2029', '\u2029'],
    ['NEL (U+0085)', '\u0085'],
    ['a form feed', '\f'],
    ['a lone carriage return', '\r'],
  ])('reads a plain-list line holding %s as two entries of that line', (_name, separator) => {
    const { records, rejected } = parseImport(`# list\n${SHA256}  tool.exe${separator}${MD5}\n`, plain);
    expect(rejected).toEqual([]);
    expect(records.map((r) => [r.sha256 ?? r.md5, r.fileName])).toEqual([
      [SHA256, 'tool.exe'],
      [MD5, 'unknown'],
    ]);
  });

  it('rejects the part of a line after U+2028 that is not a digest, with its line number', () => {
    const { records, rejected } = parseImport(`${MD5}\n${SHA256}  my\u2028tool.exe\n`, plain);
    expect(records.map((r) => [r.sha256 ?? r.md5, r.fileName])).toEqual([
      [MD5, 'unknown'],
      [SHA256, 'my'],
    ]);
    expect(rejected).toEqual([{ line: 2, input: 'tool.exe', reason: expect.stringContaining('0-9 and a-f') }]);
  });

  it('unescapes a line sha256sum escaped because its file name holds a line break or a backslash', () => {
    const { records, rejected } = parseImport(`\\${SHA256}  dir/new\\nline\\\\x.exe\n`, plain);
    expect(rejected).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ sha256: SHA256, fileName: 'new\nline\\x.exe' })]);
  });

  it('reads STIX string literals whole: brackets, OR and escaped quotes inside a file name are the name', () => {
    const pattern = `[file:name = 'it\\'s [one OR two].exe' AND file:hashes.MD5 = '${MD5}'] OR [file:hashes.'SHA-256' = '${SHA256}']`;
    const { records, rejected } = parseImport(bundle({ pattern }));
    expect(rejected).toEqual([]);
    expect(records.map((r) => [r.md5 ?? r.sha256, r.fileName])).toEqual([
      [MD5, "it's [one OR two].exe"],
      [SHA256, 'unknown'],
    ]);
  });

  it('takes no digest from a negated STIX comparison', () => {
    const pattern = `[file:hashes.MD5 = '${MD5}' AND NOT file:hashes.'SHA-256' = '${SHA256}']`;
    const { records } = parseImport(bundle({ pattern }));
    expect(records).toEqual([expect.objectContaining({ md5: MD5 })]);
    expect(records[0]!.sha256).toBeUndefined();
  });

  it('answers STIX and MISP values nested a hundred thousand arrays deep with a parse, never a stack overflow', () => {
    // Small as JSON, but `String()` on the array it parses to overflows the stack.
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const stix = `{"type":"bundle","id":${nested},"objects":[
      {"type":"indicator","id":${nested},"created_by_ref":${nested},"pattern":"[file:hashes.MD5 = '${MD5}']"},
      {"type":"relationship","relationship_type":"indicates","source_ref":${nested},"target_ref":${nested}},
      {"type":"indicator","id":"indicator--2","pattern":${nested}}]}`;
    const fromStix = parseImport(stix, { defaults: { campaign: 'c' } });
    expect(fromStix.records).toEqual([expect.objectContaining({ md5: MD5, sources: ['STIX bundle bundle'] })]);
    const misp = `{"Event":{"info":"c","uuid":${nested},"threat_level_id":${nested},"Attribute":[{"type":"md5","value":${nested},"uuid":${nested}}]}}`;
    const { records, rejected } = parseImport(misp);
    expect(records).toEqual([]);
    expect(rejected).toEqual([{ line: null, input: 'md5:', reason: expect.stringContaining('empty') }]);
  });

  it('reads CSV columns and MISP types named like built-in properties as unknown ones', () => {
    const csv = `sha256,constructor,__proto__,campaign,sources\n${SHA256},x,y,c,s\n`;
    expect(parseImport(csv)).toMatchObject({ records: [expect.objectContaining({ sha256: SHA256 })], rejected: [] });
    const misp = JSON.stringify({ Event: { info: 'c', Attribute: [{ type: 'constructor', value: MD5 }, { type: 'toString', value: MD5 }] } });
    expect(parseImport(misp)).toMatchObject({ records: [], rejected: [] });
  });

  it('rejects the CSV row whose quoted field is never closed instead of reading the rest of the file into it', () => {
    const csv = `sha256,file_name,campaign,sources\n${SHA256},"a.dll,c,s\n${'b'.repeat(64)},b.dll,c,s\n`;
    const { records, rejected } = parseImport(csv);
    expect(records).toEqual([]);
    expect(rejected).toEqual([{ line: 2, input: expect.any(String), reason: 'a quoted field opened in this row is never closed' }]);
  });

  it.each([
    ['an object cut after its first bracket', '{"records":['],
    ['a record array cut after whole lines', `[\n${JSON.stringify({ md5: MD5, fileName: 'a', kind: 'other', campaign: 'c', sources: ['s'] })},\n${JSON.stringify({ sha256: SHA256, fileName: 'b', kind: 'other', campaign: 'c', sources: ['s'] })}\n`],
    ['a STIX bundle cut short', '{\n  "type": "bundle",\n  "objects": [\n'],
  ])('refuses %s as a whole, naming the JSON error', (_name, text) => {
    expect(() => parseImport(text)).toThrow(InvalidRequestError);
    expect(() => parseImport(text)).toThrow(/not valid JSON \(.+\).*cut short/);
  });

  it('still reads JSON Lines whose last line is cut short, rejecting only that line', () => {
    const line = JSON.stringify({ md5: MD5, fileName: 'a', kind: 'other', campaign: 'c', sources: ['s'] });
    const { records, rejected } = parseImport(`${line}\n{"sha256":"${SHA256.slice(0, 10)}`);
    expect(records).toEqual([expect.objectContaining({ md5: MD5 })]);
    expect(rejected).toEqual([{ line: 2, input: expect.any(String), reason: expect.stringContaining('not valid JSON') }]);
  });
});

describe('parseCsv', () => {
  it('keeps commas, doubled quotes and newlines inside quoted fields', () => {
    expect(parseCsv('a,"b,c","d ""e""\nf"\n1,2,3\n')).toEqual([
      { line: 1, fields: ['a', 'b,c', 'd "e"\nf'] },
      { line: 3, fields: ['1', '2', '3'] },
    ]);
  });
});
