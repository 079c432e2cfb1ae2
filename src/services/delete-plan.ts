import { database } from "../db/database";
import { deletePlanIfUnused, findPlan, subjectIdsOnPlan, type Plan } from "../db/plans";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { recordAudit } from "./audit-trail";

const NAMED_SUBJECTS = 100;

/** Deletes a plan no subject is on; while one is, PLAN_IN_USE names the first of them. */
export async function deletePlan(env: Env, audit: AuditContext, planId: string): Promise<Plan> {
  const db = database(env.DB);
  const deleted = await deletePlanIfUnused(db, planId);
  if (deleted) {
    await recordAudit(env, audit, { action: "plan.delete", target: { type: "plan", id: planId }, before: deleted, after: null });
    return deleted;
  }
  if (!(await findPlan(db, planId))) throw new DomainError("NOT_FOUND", "No such plan.");
  const subjectIds = await subjectIdsOnPlan(db, planId, "", NAMED_SUBJECTS);
  throw new DomainError("PLAN_IN_USE", `Plan '${planId}' still has subjects; move them to another plan (or none) first.`, {
    subjectIds,
  });
}
