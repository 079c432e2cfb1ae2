import { env } from "cloudflare:workers";
import { historyStore } from "../../src/history/history-store";
import { withPostgres } from "../../src/history/postgres-connection";

/**
 * History seeded and inspected the same way on either backend (the workers project keeps it in D1,
 * workers-postgres in PostgreSQL), so the conformance suite runs the same tests on both.
 */

/** Writes events straight into history, as the history writers do (no ledger involved). */
export async function writeHistory(events: object[]): Promise<void> {
  for (let i = 0; i < events.length; i += 2000) {
    await historyStore(env).writeBatch(events.slice(i, i + 2000).map((e) => ({ kind: "event", body: JSON.stringify(e) })));
  }
}

/** Marks an event voided in history only, as a void whose ledger step failed leaves it. */
export async function voidInHistory(id: string, voidedAt: number, reason: string): Promise<void> {
  await historyStore(env).writeBatch([{ kind: "void", body: JSON.stringify({ id, voidedAt, reason }) }]);
}

/** Marks many events voided in history in one batch. */
export async function voidManyInHistory(ids: string[], voidedAt: number, reason: string): Promise<void> {
  await historyStore(env).writeBatch(ids.map((id) => ({ kind: "void", body: JSON.stringify({ id, voidedAt, reason }) })));
}

/** Events in history, of one subject or all. */
export async function historyRows(subjectId?: string): Promise<number> {
  if (env.HISTORY_BACKEND === "postgres") {
    const rows = await withPostgres(env.HISTORY_DB!, (query) =>
      subjectId === undefined
        ? query<{ n: string }>("SELECT count(*) AS n FROM usage_events")
        : query<{ n: string }>("SELECT count(*) AS n FROM usage_events WHERE subject_id = $1", [subjectId]),
    );
    return Number(rows[0]?.n ?? 0);
  }
  const row = subjectId
    ? await env.DB.prepare("SELECT count(*) AS n FROM usage_events WHERE subject_id = ?").bind(subjectId).first<{ n: number }>()
    : await env.DB.prepare("SELECT count(*) AS n FROM usage_events").first<{ n: number }>();
  return row?.n ?? 0;
}
