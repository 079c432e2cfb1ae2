import { fromE4 } from "./amount";
import type { Decision } from "./entitlements";

/** A limit decision as the API answers it; `consumedE4` turns the decision (taken before) into the balance after the consumption. */
export function toPublicDecision(d: Decision, consumedE4 = 0) {
  const used = d.usedE4 + consumedE4;
  return {
    allowed: d.allowed,
    used: fromE4(used),
    limit: d.limitE4 === null ? null : fromE4(d.limitE4),
    remaining: d.limitE4 === null ? null : fromE4(Math.max(0, d.limitE4 - used)),
    overage: d.overage,
  };
}
