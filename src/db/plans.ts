import { and, asc, eq, gt, gte, lt, notExists, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { EntitlementInput, EntitlementOverride, PlanSnapshot, SubjectSettings } from "../domain/entitlements";
import type { Features } from "../domain/features";
import type { IdRange } from "../domain/id-prefix";
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

/** Plans in id order, after `afterId`. */
export async function listPlans(db: DrizzleD1Database, afterId: string | null, limit: number): Promise<Plan[]> {
  const rows = await db
    .select()
    .from(plans)
    .where(afterId === null ? undefined : gt(plans.id, afterId))
    .orderBy(asc(plans.id))
    .limit(limit);
  return rows.map(toPlan);
}

/**
 * Deletes the plan unless a subject is on it, in one statement: a subject written at the same
 * time either lands first (and the plan stays) or finds no plan (see upsertSubject).
 * Null when nothing was deleted.
 */
export async function deletePlanIfUnused(db: DrizzleD1Database, id: string): Promise<Plan | null> {
  const [row] = await db
    .delete(plans)
    .where(and(eq(plans.id, id), notExists(db.select({ one: sql`1` }).from(subjects).where(eq(subjects.planId, id)))))
    .returning();
  return row ? toPlan(row) : null;
}

/**
 * Creates or updates a subject. With a plan, the row is selected from that plan's row in the
 * same statement, so it is written only while the plan exists: a plan's delete cannot slip in
 * between a check and the write. Null when the plan does not exist (nothing is written).
 */
export async function upsertSubject(db: DrizzleD1Database, subject: Omit<Subject, "createdAt">, nowMs: number): Promise<Subject | null> {
  const values = {
    planId: subject.planId,
    billingAnchorDay: subject.billingAnchorDay,
    overrides: JSON.stringify(subject.overrides),
    featureOverrides: JSON.stringify(subject.featureOverrides),
    updatedAt: subject.updatedAt,
  };
  const row = { id: subject.id, ...values, createdAt: nowMs };
  const insert =
    subject.planId === null
      ? db.insert(subjects).values(row)
      : db.insert(subjects).select(
          // In the table's column order, as INSERT … SELECT needs.
          db
            .select({
              id: sql`${row.id}`.as("id"),
              planId: sql`${row.planId}`.as("plan_id"),
              billingAnchorDay: sql`${row.billingAnchorDay}`.as("billing_anchor_day"),
              overrides: sql`${row.overrides}`.as("overrides"),
              featureOverrides: sql`${row.featureOverrides}`.as("feature_overrides"),
              createdAt: sql`${row.createdAt}`.as("created_at"),
              updatedAt: sql`${row.updatedAt}`.as("updated_at"),
            })
            .from(plans)
            .where(eq(plans.id, subject.planId)),
        );
  const [written] = await insert.onConflictDoUpdate({ target: subjects.id, set: values }).returning();
  return written ? toSubject(written) : null;
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

export interface SubjectFilter {
  planId: string | null;
  /** What an id prefix stands for. */
  idRange: IdRange | null;
  afterId: string | null;
  limit: number;
}

/** Subjects in id order. The id range reads the primary key's index; no LIKE, so no pattern characters. */
export async function listSubjects(db: DrizzleD1Database, filter: SubjectFilter): Promise<Subject[]> {
  const { planId, idRange, afterId, limit } = filter;
  const rows = await db
    .select()
    .from(subjects)
    .where(
      and(
        planId === null ? undefined : eq(subjects.planId, planId),
        idRange === null ? undefined : gte(subjects.id, idRange.from),
        idRange?.below == null ? undefined : lt(subjects.id, idRange.below),
        afterId === null ? undefined : gt(subjects.id, afterId),
      ),
    )
    .orderBy(asc(subjects.id))
    .limit(limit);
  return rows.map(toSubject);
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
