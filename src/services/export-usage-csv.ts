import { database } from "../db/database";
import { listHistory, type HistoryFilter } from "../db/usage-events";
import { toCsvRow } from "../domain/csv";
import { toPublicEvent, type StoredEvent } from "../domain/stored-event";

const PAGE = 1000;
const BASE_COLUMNS = ["id", "subjectId", "meter", "unit", "amount", "operation", "timestamp", "receivedAt", "source", "idempotencyKey"];

/** History as CSV, oldest first, streamed a page at a time so memory stays bounded whatever the row count. */
export function exportUsageCsv(env: Env, filter: HistoryFilter, dimensionColumns: string[]): ReadableStream<Uint8Array> {
  const db = database(env.DB);
  const encoder = new TextEncoder();
  let after: { occurredAt: number; id: string } | undefined;
  let headerSent = false;
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(
            encoder.encode(toCsvRow([...BASE_COLUMNS, ...dimensionColumns, "dimensionsJson", "metadataJson", "voidedAt", "voidReason"])),
          );
          return;
        }
        if (done) return controller.close();
        const page = await listHistory(db, filter, PAGE, after, "oldest");
        if (page.length < PAGE) done = true;
        const last = page[page.length - 1];
        if (last) after = { occurredAt: last.occurredAt, id: last.id };
        controller.enqueue(encoder.encode(page.map((e) => csvLine(e, dimensionColumns)).join("")));
        if (done) controller.close();
      },
    },
    { highWaterMark: 1 },
  );
}

function csvLine(stored: StoredEvent, dimensionColumns: string[]): string {
  const e = toPublicEvent(stored);
  return toCsvRow([
    e.id,
    e.subjectId,
    e.meter,
    e.unit,
    String(e.amount),
    e.operation,
    e.timestamp,
    e.receivedAt,
    e.source,
    e.idempotencyKey ?? "",
    ...dimensionColumns.map((d) => e.dimensions[d] ?? ""),
    JSON.stringify(e.dimensions),
    JSON.stringify(e.metadata),
    e.voidedAt ?? "",
    e.voidReason ?? "",
  ]);
}
