import { stringify } from 'csv-stringify/sync';

/** A CSV cell: text or a number; null or undefined is an empty cell. */
export type CsvCell = string | number | null | undefined;

/**
 * CSV records, the one writer every report and export uses: RFC 4180 (CRLF; a cell is quoted when it holds
 * a quote, a comma, CR or LF) and safe to open in a spreadsheet: a text cell starting with =, +, -, @, tab
 * or CR (or their full-width forms) is prefixed with ' so it stays text, since cells carry data such as
 * transaction notes. Numbers are written as they are (a negative number is not a formula).
 */
export function csvRecords(rows: ReadonlyArray<readonly CsvCell[]>): string {
  // Naming a record delimiter turns quote_record_delimiter off by default, which would leave a bare CR or LF unquoted.
  return stringify(rows as CsvCell[][], { escape_formulas: true, record_delimiter: 'windows', quote_record_delimiter: true });
}
