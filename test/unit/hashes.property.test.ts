import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidHashError } from '../../lambdas/core/errors.js';
import { parseHash, parseHashLines } from '../../lambdas/core/hashes.js';

const HEX = '0123456789abcdefABCDEF'.split('');
const ALGORITHMS = { 32: 'md5', 40: 'sha1', 64: 'sha256' } as const;

/** A digest of a valid length in any mix of upper and lower case. */
const anyCaseDigest = fc
  .constantFrom(32, 40, 64)
  .chain((length) => fc.array(fc.constantFrom(...HEX), { minLength: length, maxLength: length }).map((chars) => chars.join('')));

/** The spaces and tabs that may surround a hash, as pasted lists and `sha256sum` output carry them. */
const whiteSpace = fc.array(fc.constantFrom(' ', '\t', '\u00a0', '\u2003', '\u3000'), { maxLength: 4 }).map((c) => c.join(''));

/** Line breaks and other control characters: never surrounding space, wherever they are. */
const control = fc.constantFrom('\n', '\r', '\r\n', '\v', '\f', '\u0000', '\u001b', '\u0085', '\u2028', '\u2029');

/** Whether `text`, without the spaces and tabs around it, is a digest the service takes. */
const isDigest = (text: string) => {
  const core = text.replace(/^[\t\p{Zs}]+/u, '').replace(/[\t\p{Zs}]+$/u, '');
  return /^[0-9a-fA-F]+$/.test(core) && core.length in ALGORITHMS;
};

/** Calls `work` and returns what it threw, or `undefined`. */
function thrown(work: () => unknown): unknown {
  try {
    work();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('parseHash, for any input', () => {
  it('parses every case and white-space variant of a valid digest to the same lower-case hash', () => {
    fc.assert(
      fc.property(anyCaseDigest, whiteSpace, whiteSpace, (digest, before, after) => {
        const parsed = parseHash(`${before}${digest}${after}`);
        expect(parsed.hash).toBe(digest.toLowerCase());
        expect(parsed.algorithm).toBe(ALGORITHMS[digest.length as 32 | 40 | 64]);
        expect(parseHash(digest.toUpperCase())).toEqual(parsed);
      }),
    );
  });

  it('rejects a valid digest with a line break or control character before or after it, whatever spaces surround it', () => {
    fc.assert(
      fc.property(anyCaseDigest, whiteSpace, control, fc.boolean(), (digest, space, bad, before) => {
        const text = before ? `${space}${bad}${space}${digest}` : `${digest}${space}${bad}${space}`;
        expect(thrown(() => parseHash(text))).toBeInstanceOf(InvalidHashError);
      }),
    );
  });

  it('rejects hex of any other length with InvalidHashError', () => {
    const otherLength = fc.integer({ min: 0, max: 200 }).filter((n) => !(n in ALGORITHMS));
    fc.assert(
      fc.property(otherLength, fc.infiniteStream(fc.constantFrom(...HEX)), (length, chars) => {
        const text = [...chars.take(length)].join('');
        expect(thrown(() => parseHash(text))).toBeInstanceOf(InvalidHashError);
      }),
    );
  });

  it('rejects a valid digest with any one character replaced by a non-hex one', () => {
    const nonHex = fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }).filter((c) => !/[0-9a-fA-F]/.test(c) && c.trim() !== '');
    fc.assert(
      fc.property(anyCaseDigest, fc.nat(), nonHex, (digest, at, bad) => {
        const i = at % digest.length;
        expect(thrown(() => parseHash(digest.slice(0, i) + bad + digest.slice(i + 1)))).toBeInstanceOf(InvalidHashError);
      }),
    );
  });

  it('either returns a lower-case digest or throws InvalidHashError, and nothing else, whatever the string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: fc.constantFrom(...HEX, ' ', 'x') })), (text) => {
        const error = thrown(() => parseHash(text));
        if (isDigest(text)) {
          expect(error).toBeUndefined();
          expect(parseHash(text).hash).toMatch(/^[0-9a-f]+$/);
        } else {
          expect(error).toBeInstanceOf(InvalidHashError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** Line terminators: LF and CR, and the vertical tab, form feed, NEL, U+2028 and U+2029 that also end a line. */
const TERMINATORS = /[\r\n\v\f\u0085\u2028\u2029]/g;

/** A line of a pasted list that is an entry: neither blank nor a comment nor a hashdeep line, and without a line terminator. */
const entryLine = fc
  .oneof(
    fc.tuple(whiteSpace, anyCaseDigest, fc.constantFrom('', '  ', '\t', '  ./path/to/file.dll', ' *C:\\tools\\a b.exe')).map(([w, d, t]) => `${w}${d}${t}`),
    fc.string({ unit: 'grapheme', minLength: 1 }),
  )
  .map((line) => line.replace(TERMINATORS, ''))
  .filter((line) => line.trim() !== '' && !line.trim().startsWith('#') && !line.trim().startsWith('%%%%') && !/^\s*\d+,/.test(line));

/** A line that is never an entry. */
const ignoredLine = fc.oneof(
  whiteSpace,
  fc.string({ unit: 'grapheme' }).map((s) => `#${s.replace(TERMINATORS, '')}`),
  fc.string({ unit: 'grapheme' }).map((s) => `   # ${s.replace(TERMINATORS, '')}`),
);

/** A pasted list: entries in order, with ignored lines anywhere between them. */
const pastedList = fc.array(fc.tuple(fc.array(ignoredLine, { maxLength: 2 }), entryLine), { maxLength: 40 }).map((groups) => ({
  entries: groups.map(([, entry]) => entry),
  lines: groups.flatMap(([ignored, entry]) => [...ignored, entry]),
}));

describe('parseHashLines, for any pasted list', () => {
  it('answers every entry once, in order, and nothing else', () => {
    fc.assert(
      fc.property(pastedList, fc.array(ignoredLine, { maxLength: 3 }), ({ entries, lines }, trailing) => {
        expect(parseHashLines([...lines, ...trailing].join('\n')).map((r) => r.input)).toEqual(entries);
      }),
    );
  });

  it('gives the same result for CRLF and LF line ends', () => {
    fc.assert(
      fc.property(pastedList, ({ lines }) => {
        expect(parseHashLines(lines.join('\r\n'))).toEqual(parseHashLines(lines.join('\n')));
      }),
    );
  });

  it('ends an entry at every line terminator, so no entry holds two digests', () => {
    fc.assert(
      fc.property(fc.array(anyCaseDigest, { minLength: 1, maxLength: 20 }), fc.constantFrom('\r', '\v', '\f', '\u0085', '\u2028', '\u2029'), (digests, end) => {
        const results = parseHashLines(digests.join(end));
        expect(results.map((r) => ('parsed' in r ? r.parsed.hash : r.error.message))).toEqual(digests.map((d) => d.toLowerCase()));
      }),
    );
  });

  it('never makes an entry of a comment or a blank line', () => {
    fc.assert(
      fc.property(fc.array(ignoredLine, { maxLength: 30 }), fc.constantFrom('\n', '\r\n'), (lines, end) => {
        expect(parseHashLines(lines.join(end))).toEqual([]);
      }),
    );
  });

  it('answers each entry with a hash it holds, or InvalidHashError', () => {
    fc.assert(
      fc.property(pastedList, ({ entries, lines }) => {
        const results = parseHashLines(lines.join('\r\n'));
        expect(results.map((r) => r.input)).toEqual(entries);
        for (const result of results) {
          if ('parsed' in result) expect(result.input.toLowerCase()).toContain(result.parsed.hash);
          else expect(result.error).toBeInstanceOf(InvalidHashError);
          // A line of one field is the hash itself: parsed exactly when parseHash takes the line.
          if (!/\s/.test(result.input.trim())) {
            const refused = thrown(() => parseHash(result.input));
            if ('parsed' in result) expect(result.parsed).toEqual(parseHash(result.input));
            else expect(refused).toBeInstanceOf(InvalidHashError);
          }
        }
      }),
    );
  });

  it('answers a digest alone or at the head of a sha256sum line exactly as parseHash answers the digest', () => {
    fc.assert(
      fc.property(whiteSpace, anyCaseDigest, fc.constantFrom('', '  setup.msi', ' *bin/tool.exe', '\tsome/path'), (before, digest, after) => {
        const line = `${before}${digest}${after}`;
        expect(parseHashLines(line)).toEqual([{ input: line, parsed: parseHash(digest) }]);
      }),
    );
  });
});
