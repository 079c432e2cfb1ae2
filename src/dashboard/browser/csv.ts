import { js } from "./js";
import { FORMULA_START } from "../../domain/csv";

/**
 * Browser code, part 3: CSV of a table as shown. The same rules as the server's export
 * (src/domain/csv.ts, whose formula pattern is written in here): RFC 4180 quoting, CRLF, and a
 * text cell a spreadsheet would run as a formula gets a leading "'"; numbers are written as they are.
 */
export const CSV_JS = js`
const CSV_FORMULA_START = ${FORMULA_START};
function csvField(cell) {
  if (typeof cell === "number") return String(cell);
  const text = cell === null || cell === undefined ? "" : String(cell);
  const guarded = CSV_FORMULA_START.test(text) ? "'" + text : text;
  return /[",\r\n]/.test(guarded) ? '"' + guarded.replace(/"/g, '""') + '"' : guarded;
}
const toCsv = (rows) => rows.map((cells) => cells.map(csvField).join(",") + "\r\n").join("");
`;
