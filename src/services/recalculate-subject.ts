import type { AuditContext } from "../domain/audit";
import { fromE4 } from "../domain/amount";
import type { RecalculationSummary } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { recordAudit } from "./audit-trail";
import { callLedger } from "./call-ledger";
import { meterKinds } from "./meter-kinds";

/**
 * Rebuilds the subject's current-period counters and gauge levels from D1 history. Safe to repeat.
 * Every run is logged (who asked for a repair matters even when it found nothing), with only the
 * meters it changed.
 */
export async function recalculateSubject(env: Env, audit: AuditContext, subjectId: string): Promise<RecalculationSummary> {
  const kinds = await meterKinds(env);
  const summary = await callLedger(() => ledgerFor(env, subjectId).recalculate(subjectId, kinds));
  const changed = summary.meters
    .filter((m) => m.beforeE4 !== m.afterE4)
    .map((m) => ({
      meter: m.meter,
      periodStart: m.periodStart === null ? null : new Date(m.periodStart).toISOString(),
      before: fromE4(m.beforeE4),
      after: fromE4(m.afterE4),
    }));
  await recordAudit(env, audit, {
    action: "subject.recalculate",
    target: { type: "subject", id: subjectId },
    before: null,
    after: { changed },
  });
  return summary;
}
