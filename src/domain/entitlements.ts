import { z } from "zod";
import { FeatureMap } from "./features";
import type { PeriodKind } from "./periods";
import { Amount, MeterKey } from "./usage-event";
import { wellFormedString } from "./well-formed";

export const DEFAULT_THRESHOLDS = [80, 100];

const Periods = z.number().int().min(1).max(120);
const Priority = z.number().int().min(0).max(1000);

/** Unused allowance carried into a grant when a period closes. */
export const RolloverInput = z.strictObject({
  maxAmount: Amount.optional(),
  /** Of the limit. */
  maxPercent: z.number().int().min(1).max(100).optional(),
  /** The grant lasts this many periods after the one that closed. */
  expiresAfterPeriods: Periods,
});

/** A grant the plan gives at the start of every period. */
export const PeriodGrantInput = z.strictObject({
  amount: Amount.refine((a) => a > 0, "must be more than 0"),
  /** 1: it expires with the period it was given for. */
  expiresAfterPeriods: Periods.default(1),
  priority: Priority.optional(),
});

const entitlementFields = {
  /** Percentages of the limit that notify once per period when crossed. */
  thresholds: z.array(z.number().int().min(1).max(1000)).max(10).optional(),
  /** Remaining amounts (allowance, holds and grants counted) at or below which balance.low notifies, once per period. */
  balanceThresholds: z.array(Amount).max(10).optional(),
  rollover: RolloverInput.optional(),
  grantEachPeriod: PeriodGrantInput.optional(),
};

export const EntitlementInput = z.strictObject({
  limit: Amount.nullable(),
  period: z.enum(["month", "day", "none"]).default("month"),
  enforcement: z.enum(["hard", "soft"]).default("hard"),
  ...entitlementFields,
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
  ...entitlementFields,
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
  /** Set only when configured (so are the two below). */
  balanceThresholdsE4?: number[];
  rollover?: { maxAmountE4: number | null; maxPercent: number | null; expiresAfterPeriods: number };
  periodGrant?: { amountE4: number; expiresAfterPeriods: number; priority: number };
}

/** The priority grants get when none is given: lower is drawn first. */
export const DEFAULT_GRANT_PRIORITY = 100;

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
      limitE4: merged.limit === null ? null : toE4(merged.limit),
      period: merged.period as PeriodKind,
      enforcement: merged.enforcement as "hard" | "soft",
      thresholds: [...new Set(merged.thresholds ?? DEFAULT_THRESHOLDS)].sort((a, b) => a - b),
      ...creditSettings(merged),
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
  /** Held by live reservations (absent in decisions kept before holds existed). */
  heldE4?: number;
  /** What grants give the window: their draws in it and the balance live now. */
  grantedE4?: number;
  limitE4: number | null;
  remainingE4: number | null;
}

/** Besides usage, what stands between a meter and its limit: live holds, and grants that add to it. */
export interface Headroom {
  heldE4: number;
  grantedE4: number;
}

export const NO_HEADROOM: Headroom = { heldE4: 0, grantedE4: 0 };

/** `limit − used − held + granted`, never below 0; null when unlimited. */
export function remainingOf(limitE4: number | null, usedE4: number, headroom: Headroom): number | null {
  return limitE4 === null ? null : Math.max(0, limitE4 - usedE4 - headroom.heldE4 + headroom.grantedE4);
}

/** Whether `amountE4` more fits; `usedE4` is what the period (or gauge level) holds now. */
export function decide(usedE4: number, amountE4: number, entitlement: Entitlement, headroom: Headroom = NO_HEADROOM): Decision {
  const { limitE4 } = entitlement;
  const { heldE4, grantedE4 } = headroom;
  if (limitE4 === null) return { allowed: true, overage: false, usedE4, heldE4, grantedE4, limitE4, remainingE4: null };
  const fits = usedE4 + heldE4 + amountE4 <= limitE4 + grantedE4;
  return {
    allowed: fits || entitlement.enforcement === "soft",
    overage: !fits,
    usedE4,
    heldE4,
    grantedE4,
    limitE4,
    remainingE4: remainingOf(limitE4, usedE4, headroom),
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

/** The balance, rollover and per-period grant settings, in ten-thousandths, only those configured. */
function creditSettings(
  merged: Pick<EntitlementInput, "balanceThresholds" | "rollover" | "grantEachPeriod">,
): Pick<Entitlement, "balanceThresholdsE4" | "rollover" | "periodGrant"> {
  const settings: Pick<Entitlement, "balanceThresholdsE4" | "rollover" | "periodGrant"> = {};
  if (merged.balanceThresholds && merged.balanceThresholds.length > 0) {
    settings.balanceThresholdsE4 = [...new Set(merged.balanceThresholds.map(toE4))].sort((a, b) => a - b);
  }
  if (merged.rollover) {
    settings.rollover = {
      maxAmountE4: merged.rollover.maxAmount === undefined ? null : toE4(merged.rollover.maxAmount),
      maxPercent: merged.rollover.maxPercent ?? null,
      expiresAfterPeriods: merged.rollover.expiresAfterPeriods,
    };
  }
  if (merged.grantEachPeriod) {
    settings.periodGrant = {
      amountE4: toE4(merged.grantEachPeriod.amount),
      expiresAfterPeriods: merged.grantEachPeriod.expiresAfterPeriods ?? 1,
      priority: merged.grantEachPeriod.priority ?? DEFAULT_GRANT_PRIORITY,
    };
  }
  return settings;
}

function toE4(amount: number): number {
  return Math.round(amount * 10_000);
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
