/**
 * Where a dead letter stands, derived from its columns: `replayed` once a replay applied it (or
 * found it applied), else `dismissed` once an operator dismissed it, else `open` (a rejected
 * replay leaves it open: it still needs someone).
 */
export const DEAD_LETTER_STATUSES = ["open", "replayed", "dismissed"] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

/** A dead letter as the audit log keeps it: without its body, which never changes and may be large. */
export function deadLetterSnapshot<Letter extends { body: unknown }>({ body: _body, ...rest }: Letter): Omit<Letter, "body"> {
  return rest;
}
