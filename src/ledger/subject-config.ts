import type { DrizzleD1Database } from "drizzle-orm/d1";
import { findPlan, planSnapshot, subjectIdsOnPlan, subjectSettings, type Plan, type Subject } from "../db/plans";
import { ledgerFor } from "./record-usage";

const PAGE = 500;
const CONCURRENCY = 32;

/** Sends a subject's settings, with its plan as D1 holds it now, to its ledger. */
export async function pushSubject(env: Env, db: DrizzleD1Database, subject: Subject): Promise<void> {
  const plan = subject.planId === null ? null : await findPlan(db, subject.planId);
  await ledgerFor(env, subject.id).configure(subject.id, {
    subject: subjectSettings(subject),
    plan: plan === null ? null : planSnapshot(plan),
  });
}

/**
 * Sends a changed plan to the ledger of every subject on it, so their next check uses it.
 * Ledgers keep the newest version they have seen, so overlapping pushes cannot roll a plan back.
 */
export async function pushPlan(env: Env, db: DrizzleD1Database, plan: Plan): Promise<number> {
  const snapshot = planSnapshot(plan);
  let pushed = 0;
  let after = "";
  for (;;) {
    const ids = await subjectIdsOnPlan(db, plan.id, after, PAGE);
    for (let i = 0; i < ids.length; i += CONCURRENCY) {
      await Promise.all(ids.slice(i, i + CONCURRENCY).map((id) => ledgerFor(env, id).configure(id, { plan: snapshot })));
    }
    pushed += ids.length;
    if (ids.length < PAGE) return pushed;
    after = ids[ids.length - 1]!;
  }
}
