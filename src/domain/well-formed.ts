import { z } from "zod";

/**
 * Text stored in SQLite (D1, ledgers) or sent as UTF-8 must be well-formed Unicode: a lone
 * surrogate would come back as U+FFFD, so an id would no longer match itself (a subject's ledger
 * then refuses every write, a key is never found again).
 */
export const NOT_WELL_FORMED = "must be well-formed Unicode (no lone surrogates)";

export function isWellFormed(text: string): boolean {
  return text.isWellFormed();
}

/** A string schema that refuses lone surrogates; chain length and pattern checks after it. */
export function wellFormedString() {
  return z.string().refine(isWellFormed, NOT_WELL_FORMED);
}

/** The path of the first string or object key in a JSON value that is not well-formed; null when all are. */
export function malformedTextPath(value: unknown): (string | number)[] | null {
  if (typeof value === "string") return isWellFormed(value) ? null : [];
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const inner = malformedTextPath(item);
      if (inner) return [index, ...inner];
    }
    return null;
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (!isWellFormed(key)) return [key];
      const inner = malformedTextPath(item);
      if (inner) return [key, ...inner];
    }
  }
  return null;
}
