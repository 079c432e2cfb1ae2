/** A CSV cell: text, or a number written as it is. */
export type CsvCell = string | number;

/** Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection"); the dashboard's CSV uses it too. */
export const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One RFC 4180 record with its CRLF. A text cell that a spreadsheet would take for a formula is
 * prefixed with `'` (shown as text, not run); then fields with a comma, quote, CR or LF are
 * quoted, quotes doubled. Numbers are never prefixed, so `-1.5` stays a number.
 */
export function toCsvRow(cells: CsvCell[]): string {
  return `${cells.map(toCsvField).join(",")}\r\n`;
}

function toCsvField(cell: CsvCell): string {
  if (typeof cell === "number") return String(cell);
  const text = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
