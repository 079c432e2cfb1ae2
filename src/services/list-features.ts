import { database } from "../db/database";
import { findPlan, findSubject } from "../db/plans";
import { effectiveFeatures, type FeatureRow } from "../domain/features";

/**
 * The subject's features: its plan's, with its own overrides laid over them. Read from D1 alone,
 * since no limit depends on them. A subject without settings is no error (as for its entitlements): it has none.
 */
export async function listFeatures(env: Env, subjectId: string): Promise<FeatureRow[]> {
  const db = database(env.DB);
  const subject = await findSubject(db, subjectId);
  if (!subject) return [];
  const plan = subject.planId === null ? null : await findPlan(db, subject.planId);
  return effectiveFeatures(plan?.features ?? {}, subject.featureOverrides);
}
