import { z } from "zod";
import { fromE4 } from "./amount";
import { Amount } from "./usage-event";

/** A hold or a grant of nothing would be a record of nothing. */
export const PositiveAmount = Amount.refine((a) => a > 0, "must be more than 0").meta({ exclusiveMinimum: 0 });

export const DEFAULT_TTL_SECONDS = 900;
export const MAX_TTL_SECONDS = 86_400;

/** Grant times: ISO-8601 with a zone, within years 2000–9999 (epoch ms stay small and positive). */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(10_000, 0, 1);
export const GrantInstant = z.iso
  .datetime({ offset: true })
  .refine((s) => Date.parse(s) >= EARLIEST && Date.parse(s) < LATEST, "must be within the years 2000–9999")
  .transform((s) => Date.parse(s));

export type GrantStatus = "active" | "scheduled" | "expired" | "depleted" | "voided";

/**
 * What a grant is now. Used up before it expired reads `depleted`, not `expired`: nothing was
 * lost. Times in epoch ms.
 */
export function grantStatus(
  grant: { voidedAt: number | null; remainingE4: number; expiresAt: number | null; effectiveAt: number },
  nowMs: number,
): GrantStatus {
  if (grant.voidedAt !== null) return "voided";
  if (grant.remainingE4 <= 0) return "depleted";
  if (grant.expiresAt !== null && grant.expiresAt <= nowMs) return "expired";
  if (grant.effectiveAt > nowMs) return "scheduled";
  return "active";
}

/** A meter's balance as the API answers it: `remaining = limit − used − held + granted`, never below 0. */
export function toPublicBalance(s: {
  usedE4: number;
  heldE4: number;
  grantedE4: number;
  limitE4: number | null;
  remainingE4: number | null;
}) {
  return {
    used: fromE4(s.usedE4),
    held: fromE4(s.heldE4),
    granted: fromE4(s.grantedE4),
    limit: s.limitE4 === null ? null : fromE4(s.limitE4),
    remaining: s.remainingE4 === null ? null : fromE4(s.remainingE4),
  };
}
