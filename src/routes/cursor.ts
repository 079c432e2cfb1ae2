import { z } from "zod";
import type { DomainError } from "../domain/errors";
import { FaxId } from "../domain/fax";
import { MeterKey, SubjectId } from "../domain/usage-event";
import { wellFormedString } from "../domain/well-formed";
import { invalidField } from "../http/errors";

/** Position after the last row of a page: a time and a tie-breaking id. */
export interface Cursor {
  at: number;
  id: string;
}

/** Position after the last closed period of a page. */
export interface PeriodCursor {
  periodStart: number;
  subjectId: string;
  meter: string;
}

/** A page position of one list: encoded for the client, and checked whole when it comes back. */
export interface CursorKind<Position> {
  encode(position: Position): string;
  decode(raw: string): Position;
}

/** Epoch ms, as the lists store their times. */
const Millis = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const RowId = wellFormedString().min(1).max(300);

/**
 * A cursor is base64url of the UTF-8 JSON `[list, [...position]]`. The list name makes a
 * cursor of one list useless on another; the tuple schema refuses anything this API did not
 * hand out (wrong shape or types, unsafe or fractional numbers, lone surrogates) with a 400.
 */
function cursorKind<Position, Items extends [z.ZodType, ...z.ZodType[]]>(
  list: string,
  items: Items,
  toItems: (position: Position) => unknown[],
  fromItems: (items: z.output<z.ZodTuple<Items, null>>) => Position,
): CursorKind<Position> {
  const schema = z.tuple([z.literal(list), z.tuple(items)]).transform(([, position]) => fromItems(position));
  return {
    encode: (position) => toBase64Url(JSON.stringify([list, toItems(position)])),
    decode: (raw) => {
      const parsed = schema.safeParse(parseJson(fromBase64Url(raw)));
      if (!parsed.success) throw invalidCursor();
      return parsed.data;
    },
  };
}

function timeAndId(list: string, id: z.ZodType<string> = RowId): CursorKind<Cursor> {
  return cursorKind(
    list,
    [Millis, id],
    (c: Cursor) => [c.at, c.id],
    ([at, rowId]) => ({ at, id: rowId }),
  );
}

export const historyCursor = timeAndId("usage");
export const deadLetterCursor = timeAndId("dead-letters");
export const unattributedCursor = timeAndId("unattributed", FaxId);
export const deliveryCursor = timeAndId("deliveries");
export const notificationCursor = timeAndId("notifications");
export const reservationCursor = timeAndId("reservations");
/** Lists in id order: the position is the last id of the page. */
function afterId(list: string, id: z.ZodType<string> = RowId): CursorKind<string> {
  return cursorKind(
    list,
    [id],
    (lastId: string) => [lastId],
    ([lastId]) => lastId,
  );
}

export const planCursor = afterId("plans");
export const subjectCursor = afterId("subjects", SubjectId);
export const webhookEndpointCursor = afterId("webhook-endpoints");
export const apiKeyCursor = afterId("api-keys");
/** The audit log reads newest first: the position is the `seq` of the page's last row. */
export const auditLogCursor = cursorKind(
  "audit-log",
  [Millis],
  (seq: number) => [seq],
  ([seq]) => seq,
);
export const periodCursor = cursorKind(
  "periods",
  [Millis, SubjectId, MeterKey],
  (p: PeriodCursor) => [p.periodStart, p.subjectId, p.meter],
  ([periodStart, subjectId, meter]) => ({ periodStart, subjectId, meter }),
);

function toBase64Url(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

/** The decoded text, or undefined when it is not base64url of UTF-8. */
function fromBase64Url(raw: string): string | undefined {
  try {
    const binary = atob(raw.replaceAll("-", "+").replaceAll("_", "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function invalidCursor(): DomainError {
  return invalidField("cursor", "not one this API returned; pass nextCursor unchanged", "invalid_cursor");
}
