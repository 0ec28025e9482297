import { InputError } from './errors.js';

/** One CSV record and the line of the input it starts on (a quoted field may span lines). */
export interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
}

/**
 * Parses CSV as RFC 4180 describes it and as spreadsheets and EDR consoles write it: comma-separated
 * fields, CRLF or LF, fields in double quotes that may hold commas, line breaks and doubled quotes (`""`).
 * It is lenient where exports are sloppy: a quote inside an unquoted field is taken literally, and text
 * after a closing quote is kept. Blank lines are not records.
 * @throws InputError when a quoted field is still open at the end of the input.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quotedFrom = 0;
  let inQuotes = false;
  /** Whether the current record has any content: a blank line is not a record. */
  let started = false;

  const endRecord = () => {
    if (started) records.push({ line: recordLine, fields: [...fields, field] });
    fields = [];
    field = '';
    started = false;
  };

  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (inQuotes) {
      if (char === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (char === '\n') line++;
        field += char;
      }
      continue;
    }
    if (char === ',') {
      fields.push(field);
      field = '';
      started = true;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else if (char === '"' && field.trim() === '') {
      // Spaces before an opening quote are dropped, as most readers do.
      field = '';
      inQuotes = true;
      quotedFrom = line;
      started = true;
    } else {
      field += char;
      started = true;
    }
  }
  if (inQuotes) throw new InputError(`line ${quotedFrom}: a quoted CSV field is never closed`);
  endRecord();
  return records;
}

/** Characters that make a spreadsheet treat a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Formats one CSV field, quoted when it must be. Free text (file names, paths, what the input said) can
 * come from an attacker; with `text` set, a cell that a spreadsheet would run as a formula is prefixed
 * with `'` so opening the report does not execute it.
 */
export function formatCsvField(value: string | number | null | undefined, options: { text?: boolean } = {}): string {
  if (value === null || value === undefined) return '';
  let cell = String(value);
  if (options.text && FORMULA_START.test(cell)) cell = `'${cell}`;
  return /[",\r\n]|^\s|\s$/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}
