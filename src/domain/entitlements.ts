import { z } from "zod";
import { FeatureMap } from "./features";
import type { PeriodKind } from "./periods";
import { Amount, MeterKey } from "./usage-event";
import { wellFormedString } from "./well-formed";

export const DEFAULT_THRESHOLDS = [80, 100];

export const EntitlementInput = z.strictObject({
  limit: Amount.nullable(),
  period: z.enum(["month", "day", "none"]).default("month"),
  enforcement: z.enum(["hard", "soft"]).default("hard"),
  /** Percentages of the limit that notify once per period when crossed. */
  thresholds: z.array(z.number().int().min(1).max(1000)).max(10).optional(),
});
export type EntitlementInput = z.infer<typeof EntitlementInput>;

export const PlanInput = z.strictObject({
  name: wellFormedString().max(200).optional(),
  entitlements: z.record(MeterKey, EntitlementInput).refine((e) => Object.keys(e).length <= 100, "at most 100 meters"),
  features: FeatureMap.optional(),
});
export type PlanInput = z.infer<typeof PlanInput>;

/** Only what the subject changes; the rest comes from its plan. */
export const EntitlementOverride = z.strictObject({
  limit: Amount.nullable().optional(),
  period: z.enum(["month", "day", "none"]).optional(),
  enforcement: z.enum(["hard", "soft"]).optional(),
  thresholds: z.array(z.number().int().min(1).max(1000)).max(10).optional(),
});
export type EntitlementOverride = z.infer<typeof EntitlementOverride>;

export const SubjectInput = z.strictObject({
  planId: z.string().min(1).max(100).nullable().optional(),
  billingAnchorDay: z.number().int().min(1).max(31).nullable().optional(),
  overrides: z.record(MeterKey, EntitlementOverride).optional(),
  featureOverrides: FeatureMap.optional(),
});
export type SubjectInput = z.infer<typeof SubjectInput>;

/** An entitlement as the ledger applies it; the limit in ten-thousandths. */
export interface Entitlement {
  limitE4: number | null;
  period: PeriodKind;
  enforcement: "hard" | "soft";
  thresholds: number[];
}

/** Everything a subject's ledger needs to decide, pushed to it whenever the plan or subject changes. */
export interface SubjectConfig {
  planId: string | null;
  billingAnchorDay: number | null;
  entitlements: Record<string, Entitlement>;
}

export const UNLIMITED: Entitlement = { limitE4: null, period: "month", enforcement: "soft", thresholds: [] };

/** What the configuration gives a meter; meters it does not name (including `constructor` and the like) are unlimited. */
export function entitlementOf(config: SubjectConfig, meter: string): Entitlement {
  return Object.hasOwn(config.entitlements, meter) ? config.entitlements[meter]! : UNLIMITED;
}

/** The plan's entitlements with the subject's overrides laid over them, meter by meter. */
export function effectiveEntitlements(
  plan: Record<string, EntitlementInput> | null,
  overrides: Record<string, EntitlementOverride>,
): Record<string, Entitlement> {
  const meters = new Set([...Object.keys(plan ?? {}), ...Object.keys(overrides)]);
  const own = <T>(record: Record<string, T> | null, key: string): T | undefined =>
    record && Object.hasOwn(record, key) ? record[key] : undefined;
  const result: Record<string, Entitlement> = {};
  for (const meter of meters) {
    const merged = {
      limit: null,
      period: "month",
      enforcement: "hard",
      ...own(plan, meter),
      ...stripUndefined(own(overrides, meter) ?? {}),
    };
    const entitlement: Entitlement = {
      limitE4: merged.limit === null ? null : Math.round(merged.limit * 10_000),
      period: merged.period as PeriodKind,
      enforcement: merged.enforcement as "hard" | "soft",
      thresholds: [...new Set(merged.thresholds ?? DEFAULT_THRESHOLDS)].sort((a, b) => a - b),
    };
    // defineProperty: a meter named like a prototype member must stay a plain own property.
    Object.defineProperty(result, meter, { enumerable: true, writable: true, configurable: true, value: entitlement });
  }
  return result;
}

export interface Decision {
  allowed: boolean;
  /** Soft limit passed: allowed, but over the limit. */
  overage: boolean;
  usedE4: number;
  limitE4: number | null;
  remainingE4: number | null;
}

/** Whether `amountE4` more fits; `usedE4` is what the period (or gauge level) holds now. */
export function decide(usedE4: number, amountE4: number, entitlement: Entitlement): Decision {
  const { limitE4 } = entitlement;
  if (limitE4 === null) return { allowed: true, overage: false, usedE4, limitE4, remainingE4: null };
  const fits = usedE4 + amountE4 <= limitE4;
  return {
    allowed: fits || entitlement.enforcement === "soft",
    overage: !fits,
    usedE4,
    limitE4,
    remainingE4: Math.max(0, limitE4 - usedE4),
  };
}

/** Thresholds (percent) that a move from `beforeE4` to `afterE4` reaches for the first time. */
export function crossedThresholds(beforeE4: number, afterE4: number, entitlement: Entitlement): number[] {
  const { limitE4 } = entitlement;
  if (limitE4 === null || limitE4 === 0 || afterE4 <= beforeE4) return [];
  return entitlement.thresholds.filter((t) => {
    const mark = (limitE4 * t) / 100;
    return beforeE4 < mark && afterE4 >= mark;
  });
}

/** Thresholds (percent) that a level of `usedE4` has reached. */
export function reachedThresholds(usedE4: number, entitlement: Entitlement): number[] {
  const { limitE4 } = entitlement;
  if (limitE4 === null || limitE4 === 0) return [];
  return entitlement.thresholds.filter((t) => usedE4 >= (limitE4 * t) / 100);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A subject's own settings as D1 holds them; `version` is their updatedAt. */
export interface SubjectSettings {
  planId: string | null;
  billingAnchorDay: number | null;
  overrides: Record<string, EntitlementOverride>;
  version: number;
}

export interface PlanSnapshot {
  id: string;
  entitlements: Record<string, EntitlementInput>;
  version: number;
}

export interface LedgerConfiguration {
  subject: SubjectSettings | null;
  plan: PlanSnapshot | null;
}

/**
 * Lays an update over what a ledger holds. Subject settings and plans are pushed separately and
 * may arrive out of order, so each is kept last-writer-wins by version, and a plan is kept only
 * while it is the subject's plan.
 */
export function mergeConfiguration(
  current: LedgerConfiguration,
  update: Partial<LedgerConfiguration>,
): { configuration: LedgerConfiguration; config: SubjectConfig } {
  const subject =
    update.subject && (!current.subject || update.subject.version >= current.subject.version) ? update.subject : current.subject;
  const planId = subject?.planId ?? null;
  const candidates = [current.plan, update.plan ?? null].filter((p): p is PlanSnapshot => p !== null && p.id === planId);
  const plan = candidates.reduce<PlanSnapshot | null>((best, p) => (best === null || p.version >= best.version ? p : best), null);
  return {
    configuration: { subject, plan },
    config: {
      planId,
      billingAnchorDay: subject?.billingAnchorDay ?? null,
      entitlements: effectiveEntitlements(plan?.entitlements ?? null, subject?.overrides ?? {}),
    },
  };
}
