import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCsvField, parseCsv } from '../../lambdas/core/csv.js';

/** Any cell text: commas, quotes, line breaks of every kind and leading or trailing spaces included. */
const cell = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('a', ' ', '\t', ',', '"', '\n', '\r', '\r\n', '=', '\u2028'), maxLength: 10 }),
);
/** A row as a report writes it; a row of empty cells only is no row, so some cell has text. */
const row = fc.array(cell, { minLength: 1, maxLength: 6 }).filter((cells) => cells.some((c) => c !== ''));
const rowEnd = fc.constantFrom('\n', '\r\n');

const render = (rows: string[][], end: string) => rows.map((cells) => cells.map((c) => formatCsvField(c)).join(',')).join(end);

describe('parseCsv, for any rows', () => {
  it('reads back the rows formatCsvField wrote, each on the line it starts on', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), rowEnd, fc.boolean(), (rows, end, finalBreak) => {
        const text = render(rows, end) + (finalBreak && rows.length > 0 ? end : '');
        const parsed = parseCsv(text);
        expect(parsed.map((r) => r.fields)).toEqual(rows);
        let before = '';
        for (const [i, cells] of rows.entries()) {
          // Line breaks inside quoted fields count as lines; a lone CR inside quotes is a character, not a line.
          expect(parsed[i]!.line).toBe(1 + (before.match(/\n/g) ?? []).length);
          before += render([cells], end) + end;
        }
        expect(parsed.every((r) => r.unterminated === undefined)).toBe(true);
      }),
    );
  });

  it('reads a quoted field the same with spaces and tabs before its opening quote', () => {
    fc.assert(
      fc.property(row, fc.nat(), fc.constantFrom(' ', '  ', '\t', ' \t '), (cells, at, space) => {
        const i = at % cells.length;
        const quoted = cells.map((c, j) => (j === i ? `${space}"${c.replace(/"/g, '""')}"` : formatCsvField(c)));
        expect(parseCsv(quoted.join(',')).map((r) => r.fields)).toEqual([cells]);
      }),
    );
  });

  it('marks the row of a quote never closed, and only it, running it to the end of the text', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 8 }), row, fc.string({ unit: fc.constantFrom('a', ',', '\n', '\r\n', ' '), maxLength: 20 }), (rows, last, tail) => {
        const head = rows.length > 0 ? render(rows, '\n') + '\n' : '';
        const text = `${head}${render([last], '\n')},"${tail}`;
        const parsed = parseCsv(text);
        expect(parsed.slice(0, rows.length).map((r) => r.fields)).toEqual(rows);
        expect(parsed).toHaveLength(rows.length + 1);
        expect(parsed[rows.length]).toEqual({ line: 1 + (head.match(/\n/g) ?? []).length, fields: [...last, tail], unterminated: true });
      }),
    );
  });

  it('reads any text in one pass into rows, never throwing', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ' ', ',', '"', '\n', '\r'), maxLength: 60 }), (text) => {
        const parsed = parseCsv(text);
        for (const r of parsed) {
          expect(r.fields.length).toBeGreaterThan(0);
          expect(r.line).toBeGreaterThanOrEqual(1);
        }
        expect(parsed.filter((r) => r.unterminated).length).toBeLessThanOrEqual(1);
      }),
    );
  });
});
