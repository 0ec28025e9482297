/**
 * The one CSV reader and writer: feed imports, `hashcheck lookup --column` and the CLI's CSV reports all go
 * through here. Free of Node imports, so every runtime can use it.
 */

/** One CSV row: the line it starts on (a quoted field may span lines) and its fields. */
export interface CsvRow {
  readonly line: number;
  readonly fields: string[];
  /** Set when a quoted field of the row is never closed: the row then runs to the end of the text. */
  readonly unterminated?: true;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Splits CSV text into rows of fields, as RFC 4180 describes it and as spreadsheets and EDR consoles write
 * it: comma-separated fields, rows ended by CRLF, LF or CR, fields in double quotes that may hold commas,
 * line breaks and doubled quotes (`""`). Where exports are sloppy it reads them one way, everywhere:
 * - spaces and tabs before an opening quote are dropped (`a, "b,c"` has the fields `a` and `b,c`);
 * - text after a closing quote is kept (`"five" ,6` has the fields `five ` and `6`);
 * - a quote inside an unquoted field is a character;
 * - a quoted field never closed runs to the end of the text, and its row is marked `unterminated` (an
 *   import rejects that row; the command line refuses the file);
 * - a row whose fields are all empty (a blank line, `,,,` as spreadsheets pad a sheet, `""`) is no row,
 *   unless a quote of it is never closed.
 *
 * One pass, no regular expression: quoted pieces are slices of the text, so a 4 MiB field costs what a
 * 4 MiB file does.
 */
export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  /** Whether the current field has begun: after its first character, a quote is a character. */
  let fieldBegun = false;
  let unterminated = false;
  let line = 1;
  let rowLine = 1;
  const endRow = () => {
    fields.push(field);
    if (unterminated || fields.some((f) => f !== '')) {
      rows.push({ line: rowLine, fields, ...(unterminated && { unterminated: true as const }) });
    }
    fields = [];
    field = '';
    fieldBegun = false;
  };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      fields.push(field);
      field = '';
      fieldBegun = false;
      i++;
      continue;
    }
    if (c === LF || c === CR) {
      i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      endRow();
      line++;
      rowLine = line;
      continue;
    }
    if (!fieldBegun) {
      fieldBegun = true;
      let quote = i;
      while (text.charCodeAt(quote) === SPACE || text.charCodeAt(quote) === TAB) quote++;
      if (text.charCodeAt(quote) === QUOTE) {
        // A quoted field: up to the next quote that is not doubled.
        i = quote + 1;
        for (;;) {
          const close = text.indexOf('"', i);
          const stop = close < 0 ? text.length : close;
          line += countNewlines(text, i, stop);
          field += text.slice(i, stop);
          if (close < 0) {
            unterminated = true;
            i = text.length;
            break;
          }
          if (text.charCodeAt(close + 1) === QUOTE) {
            field += '"';
            i = close + 2;
          } else {
            i = close + 1;
            break;
          }
        }
        continue;
      }
    }
    // Unquoted text, or text after a closing quote: up to the next comma or line end; a quote here is text.
    let stop = i + 1;
    while (stop < text.length) {
      const d = text.charCodeAt(stop);
      if (d === COMMA || d === LF || d === CR) break;
      stop++;
    }
    field += text.slice(i, stop);
    i = stop;
  }
  endRow();
  return rows;
}

/** Line feeds in `text[from, to)`; never looks past `to`, so counting every quoted piece of a field stays linear. */
function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = from; at < to; at++) if (text.charCodeAt(at) === LF) count++;
  return count;
}

/** Characters that make a spreadsheet treat a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Formats one CSV field, quoted when it must be, so that {@link parseCsv} reads it back unchanged. Free
 * text (file names, paths, what the input said) can come from an attacker; with `text` set, a cell that a
 * spreadsheet would run as a formula is prefixed with `'` so opening the report does not execute it.
 */
export function formatCsvField(value: string | number | null | undefined, options: { text?: boolean } = {}): string {
  if (value === null || value === undefined) return '';
  let cell = String(value);
  if (options.text && FORMULA_START.test(cell)) cell = `'${cell}`;
  return /[",\r\n]|^\s|\s$/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}
