import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lambdas/core/errors.js';
import { IMPORT_FORMATS, parseImport, type ImportDefaults, type ImportFormat } from '../../lambdas/core/import-formats.js';

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const digest = fc.oneof(hex(32), hex(40), hex(64));
/** Something in a digest's place that may or may not be one. */
const digestish = fc.oneof(digest, digest.map((d) => d.toUpperCase()), fc.string({ maxLength: 70 }), hex(31), digest.map((d) => ` ${d} `));
const provenance: fc.Arbitrary<ImportDefaults> = fc.record(
  { campaign: fc.string({ maxLength: 20 }), source: fc.string({ maxLength: 20 }), kind: fc.string({ maxLength: 10 }), confidence: fc.constantFrom('low', 'medium', 'high', 'certain') },
  { requiredKeys: [] },
);
const format = fc.option(fc.constantFrom<ImportFormat>(...IMPORT_FORMATS), { nil: undefined });

/** What parseImport did: its result, or the error it threw. */
function attempt(text: string, options: Parameters<typeof parseImport>[1]): ReturnType<typeof parseImport> | { thrown: unknown } {
  try {
    return parseImport(text, options);
  } catch (error) {
    return { thrown: error };
  }
}

describe('parseImport, for any input', () => {
  it('returns a parse or throws InvalidRequestError, and nothing else', () => {
    const anyText = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.json().map((j) => j),
      fc.array(digestish, { maxLength: 10 }).map((lines) => lines.join('\n')),
      fc.array(fc.array(digestish, { maxLength: 4 }), { maxLength: 6 }).map((rows) => ['sha256,md5,file_name,sources', ...rows.map((r) => r.join(','))].join('\r\n')),
      fc.record({ type: fc.constant('bundle'), objects: fc.array(fc.object(), { maxLength: 4 }) }).map((b) => JSON.stringify(b)),
      fc.record({ Event: fc.record({ Attribute: fc.array(fc.record({ type: fc.constantFrom('md5', 'sha1', 'sha256', 'filename|md5', 'ip-dst'), value: digestish }), { maxLength: 5 }) }) }).map((e) => JSON.stringify(e)),
    );
    fc.assert(
      fc.property(anyText, format, provenance, (text, chosen, defaults) => {
        const outcome = attempt(text, { ...(chosen && { format: chosen }), defaults });
        if ('thrown' in outcome) expect(outcome.thrown).toBeInstanceOf(InvalidRequestError);
        else {
          expect(IMPORT_FORMATS).toContain(outcome.format);
          for (const record of outcome.records) expect(record.sha256 ?? record.sha1 ?? record.md5).toMatch(/^[0-9a-f]+$/);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('answers JSON feeds with null where an object belongs with InvalidRequestError or a parse, never a crash', () => {
    const cases: [string, ImportFormat | undefined][] = [
      ['[null]', undefined],
      ['{"type":"bundle","objects":[null]}', undefined],
      ['{"Event":{"Attribute":[null]}}', undefined],
      ['null', 'stix'],
      ['null', 'misp'],
      ['{"type":"bundle","objects":[{"type":"indicator","pattern":"[file:hashes.MD5 = \'0a1b2c3d4e5f60718293a4b5c6d7e8f9\']","external_references":[null]}]}', undefined],
    ];
    for (const [text, chosen] of cases) {
      const outcome = attempt(text, chosen ? { format: chosen } : {});
      if ('thrown' in outcome) expect(outcome.thrown).toBeInstanceOf(InvalidRequestError);
      else expect(outcome.records.length + outcome.rejected.length).toBeGreaterThan(0);
    }
  });

  it('makes every line of a plain list either a record or a rejection', () => {
    const line = fc.oneof(digestish, fc.tuple(digest, fc.constantFrom('  C:\\tools\\a.exe', ' *bin/b')).map(([d, p]) => d + p));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), (lines, end) => {
        const parsed = parseImport(lines.join(end), { format: 'plain', defaults: { campaign: 'test', source: 'property test' } });
        const entries = lines.filter((l) => l.trim() !== '' && !l.trim().startsWith('#')).length;
        expect(parsed.records.length + parsed.rejected.length).toBe(entries);
      }),
    );
  });

  it('makes every row of a CSV either a record or a rejection', () => {
    // Unquoted fields as CSV allows them, and quoted fields holding anything, quotes and line breaks included.
    const field = fc.oneof(
      digestish.filter((s) => !/[",\r\n]/.test(s)),
      fc.string({ maxLength: 12 }).map((s) => `"${s.replace(/"/g, '""')}"`),
    );
    const row = fc.tuple(field, field, fc.constantFrom('a.dll', 'b.exe', ''), fc.constantFrom('vendor;blog', 'feed', ''));
    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), (rows) => {
        const text = ['sha256,md5,file_name,sources', ...rows.map((r) => r.join(','))].join('\n');
        const parsed = parseImport(text, { defaults: { campaign: 'test' } });
        const nonEmpty = rows.filter((r) => r.some((f) => f !== '' && f !== '""')).length;
        expect(parsed.format).toBe('csv');
        expect(parsed.records.length + parsed.rejected.length).toBe(nonEmpty);
      }),
    );
  });

  it('makes every line of JSON Lines either a record or a rejection', () => {
    const record = fc.record({ sha256: digestish, fileName: fc.string({ maxLength: 10 }), campaign: fc.string({ maxLength: 10 }), sources: fc.array(fc.string(), { maxLength: 2 }) }, { requiredKeys: [] });
    const jsonLine = fc.oneof(record.map((r) => JSON.stringify(r)), fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n') && !s.includes('\r')), fc.json().filter((s) => !s.includes('\n')));
    fc.assert(
      fc.property(fc.array(jsonLine, { minLength: 1, maxLength: 30 }), (lines) => {
        const parsed = parseImport(lines.join('\n'), { format: 'jsonl' });
        expect(parsed.records.length + parsed.rejected.length).toBe(lines.filter((l) => l.trim() !== '').length);
      }),
    );
  });

  it('reads a list of bare digests as it reads the same lines among any other kind, line numbers and repeats included', () => {
    // A comment line makes the list one the bare-digest reading does not take: the line-by-line reader reads it.
    const line = fc.oneof({ weight: 8, arbitrary: digest }, digest.map((d) => d.toUpperCase()), fc.constant(''), hex(31));
    const ending = fc.constantFrom('\n', '\r\n');
    const lists = fc.array(fc.tuple(line, ending), { maxLength: 40 }).chain((lines) =>
      fc.tuple(fc.constant(lines), fc.subarray(lines.map(([l]) => l)), fc.boolean()),
    );
    fc.assert(
      fc.property(lists, provenance, ([lines, repeated, sorted], defaults) => {
        const ordered = sorted ? [...lines].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : lines;
        const withRepeats = [...ordered, ...repeated.map((l) => [l, '\n'] as [string, string])];
        const text = withRepeats.map(([l, end]) => l + end).join('');
        const options = { format: 'plain' as const, defaults };
        const bare = attempt(text, options);
        const general = attempt(`${text}# the end\n`, options);
        expect(bare).toEqual(general);
      }),
      { numRuns: 300 },
    );
  });

  it('makes the same record of a CSV row of digests whether its fields come from the defaults or from columns that say the same', () => {
    // Rows naming a digest (a row of empty fields is no input; with a stage it would be one).
    const row = fc.tuple(fc.oneof(digest, digest.map((d) => d.toUpperCase())), fc.option(hex(32), { nil: '' }), fc.constantFrom('', 'a.dll', '  b.exe ', ' ', 'x'.repeat(513)));
    fc.assert(
      fc.property(fc.array(row, { maxLength: 20 }), provenance, (rows, defaults) => {
        const body = (extra: string) => rows.map(([sha256, md5, name]) => `${sha256},${md5},${name}${extra}`).join('\n');
        const options = { format: 'csv' as const, defaults };
        const plain = attempt(`sha256,md5,file_name\n${body('')}`, options);
        // A stage column saying what the defaults say: every row is then checked by the record schema alone.
        const stated = attempt(`sha256,md5,file_name,stage\n${body(',unspecified')}`, options);
        if ('thrown' in plain || 'thrown' in stated) expect(plain).toEqual(stated);
        else {
          expect(plain.records).toEqual(stated.records);
          expect(plain.rejected.map(({ line, reason }) => ({ line, reason }))).toEqual(stated.rejected.map(({ line, reason }) => ({ line, reason })));
        }
      }),
      { numRuns: 300 },
    );
  });
});
