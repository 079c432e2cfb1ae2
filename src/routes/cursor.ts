import { DomainError } from "../domain/errors";

/** Position after the last row of a page: a time and a tie-breaking id. */
export interface Cursor {
  at: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return btoa(JSON.stringify([cursor.at, cursor.id]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

export function decodeCursor(raw: string): Cursor {
  try {
    const [at, id] = JSON.parse(atob(raw.replaceAll("-", "+").replaceAll("_", "/"))) as unknown[];
    if (typeof at === "number" && typeof id === "string") return { at, id };
  } catch {
    // fall through to the validation error
  }
  throw new DomainError("VALIDATION_FAILED", "cursor is not one this API returned.", {
    issues: [{ path: "cursor", code: "invalid_cursor", message: "pass nextCursor unchanged" }],
  });
}
