import { database } from "../db/database";
import { meterCatalog } from "../db/meters";
import type { ErrorCode } from "../domain/errors";
import { resolveEvent } from "../domain/event-rules";
import { fingerprintEvent } from "../domain/fingerprint";
import type { StoredEvent } from "../domain/stored-event";
import type { EventDraft } from "../domain/usage-event";
import type { LedgerEventInput } from "../ledger/contract";

export type RejectedResult = { index: number; status: "rejected"; error: { code: ErrorCode; message: string }; event?: StoredEvent };

export type PreparedEvent = { ok: true; input: LedgerEventInput } | { ok: false; rejection: RejectedResult };

/**
 * Checks drafts against meters and the clock; the ones that pass are ready for their ledgers.
 * Provider webhooks (`webhook:…`) bill an archived meter all the same: the fax went out.
 */
export async function prepareEvents(env: Env, drafts: EventDraft[], source: string, nowMs: number): Promise<PreparedEvent[]> {
  const meters = await meterCatalog(database(env.DB), new Set(drafts.map((d) => d.meter)), nowMs);
  const fingerprints = drafts.map(fingerprintEvent);
  return drafts.map((draft, index) => {
    const archived = source.startsWith("webhook:") ? "accept" : "refuse";
    const resolution = resolveEvent(draft, fingerprints[index]!, meters.get(draft.meter), nowMs, archived);
    return resolution.ok
      ? { ok: true, input: { ...resolution.event, source } }
      : { ok: false, rejection: { index, status: "rejected", error: { code: resolution.code, message: resolution.message } } };
  });
}
