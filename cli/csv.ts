import { parseCsv as parseCsvRows, type CsvRow } from '../lambdas/core/csv.js';
import { InputError } from './errors.js';

export { formatCsvField } from '../lambdas/core/csv.js';

/** One CSV record and the line of the input it starts on (a quoted field may span lines). */
export type CsvRecord = CsvRow;

/**
 * Reads a CSV file given to the command line with the service's own CSV reader (`lambdas/core/csv.ts`,
 * which says how sloppy exports are read). A file is read whole or not at all: a quoted field that is
 * never closed would swallow every row after it, so the file is refused.
 * @throws InputError when a quoted field is still open at the end of the input, naming the line its row starts on.
 */
export function parseCsv(text: string): CsvRecord[] {
  const rows = parseCsvRows(text);
  const open = rows.find((row) => row.unterminated);
  if (open) throw new InputError(`line ${open.line}: a quoted CSV field is never closed`);
  return rows;
}
