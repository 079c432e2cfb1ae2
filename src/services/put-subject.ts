import { database, type Database } from "../db/database";
import { findPlan, findSubject, planSnapshot, subjectSettings, upsertSubject, type Subject } from "../db/plans";
import type { AuditContext } from "../domain/audit";
import type { SubjectInput } from "../domain/entitlements";
import { DomainError } from "../domain/errors";
import { ledgerFor } from "../ledger/ledger-client";
import { recordAudit } from "./audit-trail";
import { callLedger } from "./call-ledger";
import { requireKnownMeters } from "./known-meters";

/**
 * Assigns a subject's plan, billing anchor day, overrides and feature overrides; fields left out keep their value.
 * Takes effect at the subject's next call.
 */
export async function putSubject(
  env: Env,
  audit: AuditContext,
  subjectId: string,
  input: SubjectInput,
): Promise<{ subject: Subject; created: boolean }> {
  if (input.overrides) await requireKnownMeters(env, Object.keys(input.overrides), "the subject's overrides");
  const db = database(env.DB);
  const existing = await findSubject(db, subjectId);
  const planId = input.planId === undefined ? (existing?.planId ?? null) : input.planId;
  const now = Date.now();
  // Written only while the plan exists, in the same statement: a plan deleted meanwhile is not found.
  const subject = await upsertSubject(
    db,
    {
      id: subjectId,
      planId,
      billingAnchorDay: input.billingAnchorDay === undefined ? (existing?.billingAnchorDay ?? null) : input.billingAnchorDay,
      overrides: input.overrides ?? existing?.overrides ?? {},
      featureOverrides: input.featureOverrides ?? existing?.featureOverrides ?? {},
      updatedAt: Math.max(now, (existing?.updatedAt ?? 0) + 1),
    },
    now,
  );
  if (!subject) throw new DomainError("NOT_FOUND", `No plan '${planId}'. Define it with PUT /v1/plans/{planId} first.`);
  await recordAudit(env, audit, { action: "subject.put", target: { type: "subject", id: subjectId }, before: existing, after: subject });
  await pushSubject(env, db, subject);
  return { subject, created: !existing };
}

/** Sends a subject's settings, with its plan as D1 holds it now, to its ledger; LEDGER_UNAVAILABLE when it does not take them. */
async function pushSubject(env: Env, db: Database, subject: Subject): Promise<void> {
  const plan = subject.planId === null ? null : await findPlan(db, subject.planId);
  await callLedger(
    () =>
      ledgerFor(env, subject.id).configure(subject.id, {
        subject: subjectSettings(subject),
        plan: plan === null ? null : planSnapshot(plan),
      }),
    "The subject is saved, but its ledger did not take the change; retrying the same PUT pushes it again.",
  );
}
