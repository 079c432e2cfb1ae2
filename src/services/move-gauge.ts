import { DomainError } from "../domain/errors";
import type { EventDraft } from "../domain/usage-event";
import type { EntitlementSnapshot } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { meterKind } from "./meter-kinds";
import { recordUsage } from "./record-usage";

/** Records a gauge move as a usage event (never denied: it is a fact) and answers the meter after it. */
export async function moveGauge(
  env: Env,
  draft: EventDraft,
): Promise<{ entitlement: EntitlementSnapshot; status: "created" | "duplicate" }> {
  const { subjectId, meter } = draft;
  const [result] = await recordUsage(env, [draft], "gauge");
  if (result!.status === "rejected") throw new DomainError(result!.error.code, result!.error.message);
  const kind = await meterKind(env, meter);
  const entitlement = await callLedger(() => ledgerFor(env, subjectId).check(subjectId, meter, kind, 0));
  return { entitlement, status: result!.status };
}
