import type { StoredEvent } from "../domain/stored-event";
import type { EventDraft } from "../domain/usage-event";
import { log } from "../http/log";
import type { LedgerEventInput, RecordOutcome } from "../ledger/contract";
import { LEDGER_UNAVAILABLE } from "./call-ledger";
import { recordInLedgers } from "./ledger-fan-out";
import { prepareEvents, type RejectedResult } from "./prepare-events";

export type RecordResult = { index: number; status: "created" | "duplicate"; event: StoredEvent } | RejectedResult;

/**
 * Records events in their subjects' ledgers, each subject's in one transaction. Results keep
 * input order. Recording never denies: it states a fact.
 */
export async function recordUsage(env: Env, drafts: EventDraft[], source: string, nowMs = Date.now()): Promise<RecordResult[]> {
  const results: RecordResult[] = new Array(drafts.length);
  const accepted: { index: number; input: LedgerEventInput }[] = [];
  (await prepareEvents(env, drafts, source, nowMs)).forEach((prepared, index) => {
    if (prepared.ok) accepted.push({ index, input: prepared.input });
    else results[index] = prepared.rejection;
  });
  const replies = await recordInLedgers(
    env,
    accepted.map((a) => a.input),
    (subjectId, events, error) => log("error", "ledger.record_failed", { subjectId, events, error: String(error) }),
  );
  accepted.forEach(({ index }, k) => {
    const reply = replies[k]!;
    results[index] = reply.ok ? toResult(index, reply.outcome) : { index, status: "rejected", error: { ...LEDGER_UNAVAILABLE } };
  });
  return results;
}

function toResult(index: number, outcome: RecordOutcome): RecordResult {
  if (outcome.status === "created" || outcome.status === "duplicate") return { index, status: outcome.status, event: outcome.event };
  if (outcome.status === "denied") throw new Error("recording never denies");
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
