import { fromE4 } from "./amount";
import { type Decision, remainingOf } from "./entitlements";

/**
 * A limit decision as the API answers it; `consumedE4` turns the decision (taken before) into the
 * balance after the consumption. `remaining = limit − used − held + granted`.
 */
export function toPublicDecision(d: Decision, consumedE4 = 0) {
  const used = d.usedE4 + consumedE4;
  const headroom = { heldE4: d.heldE4 ?? 0, grantedE4: d.grantedE4 ?? 0 };
  return {
    allowed: d.allowed,
    used: fromE4(used),
    held: fromE4(headroom.heldE4),
    granted: fromE4(headroom.grantedE4),
    limit: d.limitE4 === null ? null : fromE4(d.limitE4),
    remaining: d.limitE4 === null ? null : fromE4(remainingOf(d.limitE4, used, headroom)!),
    overage: d.overage,
  };
}
