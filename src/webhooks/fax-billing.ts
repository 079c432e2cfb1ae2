import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { findFax, findParked, markBilled, park, recordFaxEvent, registerFax, type FaxRow } from "../db/faxes";
import { DomainError } from "../domain/errors";
import { MAX_EVENT_AGE_MS, MAX_FUTURE_SKEW_MS } from "../domain/event-rules";
import { faxIdempotencyKey, faxUsageMetadata, type FaxEvent, type FaxProvider } from "../domain/fax";
import type { JsonValue } from "../domain/stored-event";
import { recordUsage } from "../ledger/record-usage";

export type FaxOutcome = "billed" | "already_billed" | "parked" | "recorded" | "refused";

/**
 * Keeps a verified event and bills a delivered outbound fax to its subject: the one the event
 * names, else the registry's, else it is parked until the fax is registered. Billing uses the
 * key `<provider>:<faxId>`, so a fax is billed once whatever and however often arrives.
 * Throws when the bill cannot be written, so the provider delivers again.
 */
export async function handleFaxEvent(env: Env, event: FaxEvent, nowMs = Date.now()): Promise<FaxOutcome> {
  await recordFaxEvent(env.DB, event, nowMs);
  if (event.refusal !== null) return "refused";
  if (!event.billable || event.faxId === null || event.pageCount === null) return "recorded";
  const db = drizzle(env.DB);
  const billable = { ...event, faxId: event.faxId, pageCount: event.pageCount };
  const subjectId = event.subjectHint ?? (await findFax(db, event.provider, event.faxId))?.subjectId ?? null;
  if (subjectId !== null)
    return bill(env, subjectId, billable.provider, billable.faxId, billable.pageCount, billable.occurredAt, faxUsageMetadata(event), nowMs);

  await park(db, billable, faxUsageMetadata(event), nowMs);
  // The fax may have been registered while this event was parking; whoever comes second bills it.
  const registered = await findFax(db, event.provider, event.faxId);
  if (registered?.subjectId) return billParked(env, db, registered, nowMs);
  return "parked";
}

/** Registers a fax's subject and bills anything parked for it. Registering again changes nothing. */
export async function registerAndBill(env: Env, provider: FaxProvider, faxId: string, subjectId: string, nowMs = Date.now()) {
  const db = drizzle(env.DB);
  const fax = await registerFax(db, provider, faxId, subjectId, nowMs);
  if (fax.subjectId !== subjectId) {
    throw new DomainError("FAX_ALREADY_REGISTERED", `Fax '${faxId}' is already registered to another subject.`);
  }
  const outcome = await billParked(env, db, fax, nowMs);
  return { fax, billed: outcome === "billed" };
}

async function billParked(env: Env, db: DrizzleD1Database, fax: FaxRow, nowMs: number): Promise<FaxOutcome> {
  const parked = await findParked(db, fax.provider, fax.faxId);
  if (!parked || parked.billedAt !== null || !fax.subjectId) return "recorded";
  const outcome = await bill(
    env,
    fax.subjectId,
    parked.provider,
    parked.faxId,
    parked.pageCount,
    parked.occurredAt,
    parked.metadata,
    nowMs,
  );
  await markBilled(db, parked.provider, parked.faxId, fax.subjectId, nowMs);
  return outcome;
}

async function bill(
  env: Env,
  subjectId: string,
  provider: FaxProvider,
  faxId: string,
  pages: number,
  occurredAt: number,
  metadata: Record<string, JsonValue>,
  nowMs: number,
): Promise<FaxOutcome> {
  // A fax parked for weeks is billed now; its own time stays in the metadata.
  const inWindow = occurredAt <= nowMs + MAX_FUTURE_SKEW_MS && occurredAt >= nowMs - MAX_EVENT_AGE_MS + 60 * 60 * 1000;
  const [recorded] = await recordUsage(
    env,
    [
      {
        idempotencyKey: faxIdempotencyKey(provider, faxId),
        subjectId,
        meter: "fax",
        amount: pages,
        timestamp: inWindow ? occurredAt : nowMs,
        dimensions: {},
        metadata,
      },
    ],
    `webhook:${provider}`,
    nowMs,
  );
  const result = recorded!;
  if (result.status !== "rejected") return result.status === "created" ? "billed" : "already_billed";
  // The same fax key with another body (another event id announcing the same delivery): the first bill stands.
  if (result.error.code === "IDEMPOTENCY_CONFLICT") return "already_billed";
  throw new DomainError(result.error.code, result.error.message);
}
