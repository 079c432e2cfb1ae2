/** One RFC 4180 record with its CRLF: fields with a comma, quote, CR or LF are quoted, quotes doubled. */
export function toCsvRow(fields: string[]): string {
  return `${fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(",")}\r\n`;
}
