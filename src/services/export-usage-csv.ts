import type { HistoryFilter } from "../domain/history-queries";
import { toCsvRow } from "../domain/csv";
import { toPublicEvent, type StoredEvent } from "../domain/stored-event";
import { historyStore } from "../history/history-store";

const PAGE = 1000;
const BASE_COLUMNS = ["id", "subjectId", "meter", "unit", "amount", "operation", "timestamp", "receivedAt", "source", "idempotencyKey"];

/** History as CSV, oldest first, streamed a page at a time so memory stays bounded whatever the row count. */
export function exportUsageCsv(env: Env, filter: HistoryFilter, dimensionColumns: string[]): ReadableStream<Uint8Array> {
  const store = historyStore(env);
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
        const page = await store.list(filter, PAGE, after, "oldest");
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
    e.amount,
    e.operation,
    e.timestamp,
    e.receivedAt,
    e.source,
    e.idempotencyKey ?? "",
    ...dimensionColumns.map((d) => (Object.hasOwn(e.dimensions, d) ? e.dimensions[d]! : "")),
    JSON.stringify(e.dimensions),
    JSON.stringify(e.metadata),
    e.voidedAt ?? "",
    e.voidReason ?? "",
  ]);
}
