import { database, type Database } from "../db/database";
import { findPlan, planSnapshot, subjectIdsOnPlan, upsertPlan, type Plan } from "../db/plans";
import type { AuditContext } from "../domain/audit";
import type { PlanInput } from "../domain/entitlements";
import { DomainError } from "../domain/errors";
import { ledgerFor } from "../ledger/ledger-client";
import { recordAudit } from "./audit-trail";
import { callLedger } from "./call-ledger";
import { requireKnownMeters } from "./known-meters";
import { forEachLedger } from "./ledger-fan-out";

const PAGE = 500;

/** Defines or replaces a plan; every subject on it uses the new version from its next call. */
export async function putPlan(env: Env, audit: AuditContext, planId: string, input: PlanInput): Promise<{ plan: Plan; created: boolean }> {
  await requireKnownMeters(env, Object.keys(input.entitlements), "the plan's entitlements");
  const db = database(env.DB);
  const existed = await findPlan(db, planId);
  const now = Date.now();
  // A version never goes backwards, even if clocks do: ledgers keep the highest one they saw.
  const version = Math.max(now, (existed?.updatedAt ?? 0) + 1);
  const plan = await upsertPlan(
    db,
    { id: planId, name: input.name ?? null, entitlements: input.entitlements, features: input.features ?? {}, updatedAt: version },
    now,
  );
  await recordAudit(env, audit, { action: "plan.put", target: { type: "plan", id: planId }, before: existed, after: plan });
  await pushPlan(env, db, plan);
  return { plan, created: !existed };
}

/**
 * Sends a changed plan to the ledger of every subject on it, so their next check uses it.
 * Ledgers keep the newest version they have seen, so overlapping pushes cannot roll a plan back.
 * One ledger that does not answer does not keep the others from the plan; it is LEDGER_UNAVAILABLE at the end.
 */
async function pushPlan(env: Env, db: Database, plan: Plan): Promise<void> {
  const snapshot = planSnapshot(plan);
  const missed: string[] = [];
  let after = "";
  for (;;) {
    const ids = await subjectIdsOnPlan(db, plan.id, after, PAGE);
    await forEachLedger(ids, (id) => callLedger(() => ledgerFor(env, id).configure(id, { plan: snapshot })).catch(() => missed.push(id)));
    if (ids.length < PAGE) break;
    after = ids[ids.length - 1]!;
  }
  if (missed.length === 0) return;
  throw new DomainError(
    "LEDGER_UNAVAILABLE",
    `The plan is saved, but ${missed.length} subject ledger(s) did not take it; retrying the same PUT pushes it again.`,
    { subjectIds: missed.slice(0, 100) },
  );
}
