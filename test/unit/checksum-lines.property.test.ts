import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readChecksumLines } from '../../lambdas/core/checksum-lines.js';

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const digest = fc.oneof(hex(32), hex(40), hex(64));

/** Any file name a disk can hold: spaces, backslashes, line breaks, brackets, `=`, commas and `*` included. */
const fileName = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    fc.string({ unit: fc.constantFrom('a', ' ', '\\', '\n', '\r', '(', ')', '=', ',', '*', '#', '\t', '\u00a0', '\u2028'), minLength: 1, maxLength: 12 }),
  )
  // White space at the end of a line is dropped with the line's own. A vertical tab, form feed, NEL, U+2028 or
  // U+2029, which coreutils leaves unescaped, ends the entry (so `<hash>\u2028<hash>` is two digests, never a
  // digest and a name): names holding those are outside what a line can carry.
  .filter((name) => name.trimEnd() === name && name !== '' && !/[\v\f\u0085\u2028\u2029]/.test(name));

/** What coreutils 9 writes for `sha256sum [-b] NAME`: a name with a backslash, LF or CR is escaped and the line starts with `\`. */
function sumLine(hash: string, name: string, binary: boolean): string {
  const escape = /[\\\n\r]/.test(name);
  const written = escape ? name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : name;
  return `${escape ? '\\' : ''}${hash}${binary ? ' *' : '  '}${written}`;
}

/** What `sha256sum --tag` and BSD `shasum -a 256 --tag` write. */
function taggedLine(tag: string, hash: string, name: string): string {
  const escape = /[\\\n\r]/.test(name);
  const written = escape ? name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : name;
  return `${escape ? '\\' : ''}${tag} (${written}) = ${hash}`;
}

const TERMINATORS = /[\r\n\v\f\u0085\u2028\u2029]/;

describe('readChecksumLines, for any file name', () => {
  it('reads any sha256sum output line, text or binary mode, to its hash and name', () => {
    fc.assert(
      fc.property(digest, fileName, fc.boolean(), (hash, name, binary) => {
        const line = sumLine(hash, name, binary);
        expect(readChecksumLines(line)).toEqual([
          { line: 1, input: line, digests: [{ value: hash }], name, ...(line.startsWith('\\') && { escaped: true }) },
        ]);
      }),
      { numRuns: 300 },
    );
  });

  it('reads any tagged line to its hash, algorithm and name', () => {
    const tagged = fc.constantFrom(['MD5', 32, 'md5'], ['SHA1', 40, 'sha1'], ['SHA256', 64, 'sha256'] as const);
    fc.assert(
      fc.property(tagged, fc.infiniteStream(fc.constantFrom(...'0123456789abcdef')), fileName, ([tag, length, algorithm], chars, name) => {
        const hash = [...chars.take(length as number)].join('');
        const line = taggedLine(tag as string, hash, name);
        expect(readChecksumLines(line)).toEqual([
          { line: 1, input: line, digests: [{ value: hash, algorithm }], name, ...(line.startsWith('\\') && { escaped: true }) },
        ]);
      }),
    );
  });

  it('reads any hashdeep line, after its header, to its MD5, its SHA-256 and its name', () => {
    const header = '%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /home/analyst\n## $ hashdeep -r /mnt\n##\n';
    const hashdeepName = fileName.filter((name) => !TERMINATORS.test(name));
    fc.assert(
      fc.property(fc.nat(), hex(32), hex(64), hashdeepName, fc.boolean(), (size, md5, sha256, name, withHeader) => {
        const line = `${size},${md5},${sha256},${name}`;
        expect(readChecksumLines(`${withHeader ? header : ''}${line}\n`)).toEqual([
          {
            line: withHeader ? 6 : 1,
            input: line,
            digests: [
              { value: md5, algorithm: 'md5' },
              { value: sha256, algorithm: 'sha256' },
            ],
            name,
          },
        ]);
      }),
    );
  });

  it('numbers each line of a list of sha256sum lines by the line feeds before it, CRLF or LF', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(digest, fileName, fc.boolean()), { maxLength: 20 }), fc.constantFrom('\n', '\r\n'), (files, end) => {
        const lines = files.map(([hash, name, binary]) => sumLine(hash, name, binary));
        const read = readChecksumLines(lines.join(end));
        expect(read.map((entry) => [entry.line, entry.digests[0]!.value, entry.name])).toEqual(
          files.map(([hash, name], i) => [i + 1, hash, name]),
        );
      }),
    );
  });

  it('reads any text into entries that each hold at least one digest candidate and no line terminator', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '1', ' ', '\\', '*', '(', ')', '=', ',', '%', '#', '\n', '\r', '\u2028', 'S'), maxLength: 80 }), (text) => {
        for (const entry of readChecksumLines(text)) {
          expect(entry.digests.length).toBeGreaterThan(0);
          expect(TERMINATORS.test(entry.input)).toBe(false);
          expect(entry.input.trim()).not.toBe('');
        }
      }),
      { numRuns: 500 },
    );
  });
});
