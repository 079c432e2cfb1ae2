import type { LedgerEventInput, RecordOutcome } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";

/** How many subjects' ledgers one call talks to at once. */
const LEDGER_CONCURRENCY = 32;

/** Calls `call` for every item, at most LEDGER_CONCURRENCY at once. */
export async function forEachLedger<T>(items: T[], call: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += LEDGER_CONCURRENCY) {
    await Promise.all(items.slice(i, i + LEDGER_CONCURRENCY).map(call));
  }
}

export type LedgerReply = { ok: true; outcome: RecordOutcome } | { ok: false; error: unknown };

/**
 * Applies events in their subjects' ledgers: one call per subject, all of that subject's events
 * in one transaction. Replies keep input order; when a ledger does not answer, each of its events
 * fails and `onUnavailable` hears of it once.
 */
export async function recordInLedgers(
  env: Env,
  inputs: LedgerEventInput[],
  onUnavailable: (subjectId: string, events: number, error: unknown) => void,
): Promise<LedgerReply[]> {
  const replies: LedgerReply[] = new Array(inputs.length);
  const bySubject = new Map<string, number[]>();
  inputs.forEach((input, index) => {
    const group = bySubject.get(input.subjectId) ?? [];
    group.push(index);
    bySubject.set(input.subjectId, group);
  });
  await forEachLedger([...bySubject], async ([subjectId, indexes]) => {
    let outcomes: RecordOutcome[];
    try {
      outcomes = await ledgerFor(env, subjectId).record(
        subjectId,
        indexes.map((index) => inputs[index]!),
      );
    } catch (error) {
      onUnavailable(subjectId, indexes.length, error);
      for (const index of indexes) replies[index] = { ok: false, error };
      return;
    }
    indexes.forEach((index, k) => {
      replies[index] = { ok: true, outcome: outcomes[k]! };
    });
  });
  return replies;
}
