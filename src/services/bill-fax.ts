import type { Database } from "../db/database";
import { findParked, markBilled, type FaxRow } from "../db/faxes";
import { DomainError } from "../domain/errors";
import { MAX_EVENT_AGE_MS, MAX_FUTURE_SKEW_MS } from "../domain/event-rules";
import { faxIdempotencyKey, type FaxProvider } from "../domain/fax";
import type { JsonValue } from "../domain/stored-event";
import { recordUsage } from "./record-usage";

export type FaxOutcome = "billed" | "already_billed" | "parked" | "recorded" | "refused";

/** Bills the event parked for a registered fax, once. */
export async function billParked(env: Env, db: Database, fax: FaxRow, nowMs: number): Promise<FaxOutcome> {
  const parked = await findParked(db, fax.provider, fax.faxId);
  if (!parked || parked.billedAt !== null || !fax.subjectId) return "recorded";
  const outcome = await billFax(
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

/**
 * Bills a fax's pages under the key `<provider>:<faxId>`, so a fax is billed once whatever and
 * however often arrives. Throws when the bill cannot be written.
 */
export async function billFax(
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
