import { drizzle } from "drizzle-orm/d1";
import { meterCatalog } from "../db/meters";
import type { ErrorCode } from "../domain/errors";
import { resolveEvent } from "../domain/event-rules";
import { fingerprintEvent } from "../domain/fingerprint";
import type { StoredEvent } from "../domain/stored-event";
import type { EventDraft } from "../domain/usage-event";
import { log } from "../http/log";
import type { LedgerEventInput, LedgerRpc, RecordOutcome } from "./contract";

export type RejectedResult = { index: number; status: "rejected"; error: { code: ErrorCode; message: string }; event?: StoredEvent };
export type RecordResult = { index: number; status: "created" | "duplicate"; event: StoredEvent } | RejectedResult;

/** How many subjects' ledgers one request talks to at once. */
const LEDGER_CONCURRENCY = 32;

export function ledgerFor(env: Env, subjectId: string): LedgerRpc {
  return env.LEDGER.getByName(subjectId) as unknown as LedgerRpc;
}

/** Checks drafts against meters and the clock; the ones that pass are ready for their ledgers. */
export async function prepareEvents(
  env: Env,
  drafts: EventDraft[],
  source: string,
  nowMs: number,
): Promise<({ ok: true; input: LedgerEventInput } | { ok: false; rejection: RejectedResult })[]> {
  const meters = await meterCatalog(drizzle(env.DB), new Set(drafts.map((d) => d.meter)), nowMs);
  const fingerprints = drafts.map(fingerprintEvent);
  return drafts.map((draft, index) => {
    const resolution = resolveEvent(draft, fingerprints[index]!, meters.get(draft.meter), nowMs);
    return resolution.ok
      ? { ok: true, input: { ...resolution.event, source } }
      : { ok: false, rejection: { index, status: "rejected", error: { code: resolution.code, message: resolution.message } } };
  });
}

/**
 * Applies events in their subjects' ledgers: one call per subject, all of that subject's events
 * in one transaction. Results keep input order. Recording never denies: it states a fact.
 */
export async function recordUsage(env: Env, drafts: EventDraft[], source: string, nowMs = Date.now()): Promise<RecordResult[]> {
  const results: RecordResult[] = new Array(drafts.length);
  const bySubject = new Map<string, { index: number; input: LedgerEventInput }[]>();
  (await prepareEvents(env, drafts, source, nowMs)).forEach((prepared, index) => {
    if (!prepared.ok) {
      results[index] = prepared.rejection;
      return;
    }
    const group = bySubject.get(prepared.input.subjectId) ?? [];
    group.push({ index, input: prepared.input });
    bySubject.set(prepared.input.subjectId, group);
  });

  const groups = [...bySubject];
  for (let i = 0; i < groups.length; i += LEDGER_CONCURRENCY) {
    await Promise.all(
      groups.slice(i, i + LEDGER_CONCURRENCY).map(async ([subjectId, items]) => {
        let outcomes: RecordOutcome[];
        try {
          outcomes = await ledgerFor(env, subjectId).record(
            subjectId,
            items.map((item) => item.input),
          );
        } catch (error) {
          log("error", "ledger.record_failed", { subjectId, events: items.length, error: String(error) });
          for (const { index } of items) results[index] = ledgerUnavailable(index);
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

export function ledgerUnavailable(index: number): RejectedResult {
  return {
    index,
    status: "rejected",
    error: { code: "LEDGER_UNAVAILABLE", message: "The subject's ledger did not answer; retrying with the same idempotency key is safe." },
  };
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
