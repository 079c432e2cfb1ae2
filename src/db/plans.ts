import { and, asc, eq, gt } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { EntitlementInput, EntitlementOverride, PlanSnapshot, SubjectSettings } from "../domain/entitlements";
import type { Features } from "../domain/features";
import { plans, subjects } from "./schema";

export interface Plan {
  id: string;
  name: string | null;
  entitlements: Record<string, EntitlementInput>;
  features: Features;
  createdAt: number;
  updatedAt: number;
}

export interface Subject {
  id: string;
  planId: string | null;
  billingAnchorDay: number | null;
  overrides: Record<string, EntitlementOverride>;
  featureOverrides: Features;
  createdAt: number;
  updatedAt: number;
}

/** Creates or replaces a plan. */
export async function upsertPlan(db: DrizzleD1Database, plan: Omit<Plan, "createdAt">, nowMs: number): Promise<Plan> {
  const values = {
    name: plan.name,
    entitlements: JSON.stringify(plan.entitlements),
    features: JSON.stringify(plan.features),
    updatedAt: plan.updatedAt,
  };
  const [row] = await db
    .insert(plans)
    .values({ id: plan.id, ...values, createdAt: nowMs })
    .onConflictDoUpdate({ target: plans.id, set: values })
    .returning();
  return toPlan(row!);
}

export async function findPlan(db: DrizzleD1Database, id: string): Promise<Plan | null> {
  const [row] = await db.select().from(plans).where(eq(plans.id, id)).limit(1);
  return row ? toPlan(row) : null;
}

export async function upsertSubject(db: DrizzleD1Database, subject: Omit<Subject, "createdAt">, nowMs: number): Promise<Subject> {
  const values = {
    planId: subject.planId,
    billingAnchorDay: subject.billingAnchorDay,
    overrides: JSON.stringify(subject.overrides),
    featureOverrides: JSON.stringify(subject.featureOverrides),
    updatedAt: subject.updatedAt,
  };
  const [row] = await db
    .insert(subjects)
    .values({ id: subject.id, ...values, createdAt: nowMs })
    .onConflictDoUpdate({ target: subjects.id, set: values })
    .returning();
  return toSubject(row!);
}

export async function findSubject(db: DrizzleD1Database, id: string): Promise<Subject | null> {
  const [row] = await db.select().from(subjects).where(eq(subjects.id, id)).limit(1);
  return row ? toSubject(row) : null;
}

/** Subject ids on a plan, a page at a time, in id order. */
export async function subjectIdsOnPlan(db: DrizzleD1Database, planId: string, afterId: string, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: subjects.id })
    .from(subjects)
    .where(and(eq(subjects.planId, planId), gt(subjects.id, afterId)))
    .orderBy(asc(subjects.id))
    .limit(limit);
  return rows.map((r) => r.id);
}

export function planSnapshot(plan: Plan): PlanSnapshot {
  return { id: plan.id, entitlements: plan.entitlements, version: plan.updatedAt };
}

export function subjectSettings(subject: Subject): SubjectSettings {
  return { planId: subject.planId, billingAnchorDay: subject.billingAnchorDay, overrides: subject.overrides, version: subject.updatedAt };
}

function toPlan(row: typeof plans.$inferSelect): Plan {
  return {
    ...row,
    entitlements: JSON.parse(row.entitlements) as Record<string, EntitlementInput>,
    features: JSON.parse(row.features) as Features,
  };
}

function toSubject(row: typeof subjects.$inferSelect): Subject {
  return {
    ...row,
    overrides: JSON.parse(row.overrides) as Record<string, EntitlementOverride>,
    featureOverrides: JSON.parse(row.featureOverrides) as Features,
  };
}
