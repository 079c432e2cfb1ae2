import { drizzle } from "drizzle-orm/d1";
import { meterCatalog } from "../db/meters";
import type { ErrorCode } from "../domain/errors";
import { resolveEvent } from "../domain/event-rules";
import { fingerprintEvent } from "../domain/fingerprint";
import type { StoredEvent } from "../domain/stored-event";
import type { EventDraft } from "../domain/usage-event";
import { log } from "../http/log";
import type { LedgerEventInput, LedgerRpc, RecordOutcome } from "./contract";

export type RecordResult =
  | { index: number; status: "created" | "duplicate"; event: StoredEvent }
  | { index: number; status: "rejected"; error: { code: ErrorCode; message: string }; event?: StoredEvent };

/** How many subjects' ledgers one request talks to at once. */
const LEDGER_CONCURRENCY = 32;

export function ledgerFor(env: Env, subjectId: string): LedgerRpc {
  return env.LEDGER.getByName(subjectId) as unknown as LedgerRpc;
}

/**
 * Checks drafts against meters and the clock, then applies them in their subjects' ledgers: one
 * call per subject, all of that subject's events in one transaction. Results keep input order.
 */
export async function recordUsage(
  env: Env,
  drafts: EventDraft[],
  source: string,
  nowMs = Date.now(),
): Promise<RecordResult[]> {
  const results: RecordResult[] = new Array(drafts.length);
  const meters = await meterCatalog(drizzle(env.DB), new Set(drafts.map((d) => d.meter)), nowMs);
  const fingerprints = await Promise.all(drafts.map(fingerprintEvent));

  const bySubject = new Map<string, { index: number; input: LedgerEventInput }[]>();
  drafts.forEach((draft, index) => {
    const resolution = resolveEvent(draft, fingerprints[index]!, meters.get(draft.meter), nowMs);
    if (!resolution.ok) {
      results[index] = { index, status: "rejected", error: { code: resolution.code, message: resolution.message } };
      return;
    }
    const group = bySubject.get(draft.subjectId) ?? [];
    group.push({ index, input: { ...resolution.event, source } });
    bySubject.set(draft.subjectId, group);
  });

  const groups = [...bySubject];
  for (let i = 0; i < groups.length; i += LEDGER_CONCURRENCY) {
    await Promise.all(
      groups.slice(i, i + LEDGER_CONCURRENCY).map(async ([subjectId, items]) => {
        let outcomes: RecordOutcome[];
        try {
          outcomes = await ledgerFor(env, subjectId).record(subjectId, items.map((item) => item.input));
        } catch (error) {
          log("error", "ledger.record_failed", { subjectId, events: items.length, error: String(error) });
          for (const { index } of items) {
            results[index] = {
              index,
              status: "rejected",
              error: { code: "LEDGER_UNAVAILABLE", message: "The subject's ledger did not answer; retrying is safe." },
            };
          }
          return;
        }
        items.forEach(({ index }, k) => {
          results[index] = toResult(index, outcomes[k]!);
        });
      }),
    );
  }
  return results;
}

function toResult(index: number, outcome: RecordOutcome): RecordResult {
  if (outcome.status !== "conflict") return { index, status: outcome.status, event: outcome.event };
  return {
    index,
    status: "rejected",
    event: outcome.event,
    error: {
      code: "IDEMPOTENCY_CONFLICT",
      message: `idempotencyKey '${outcome.event.idempotencyKey}' was already used for a different event (${outcome.event.id}).`,
    },
  };
}
