import { database } from "../db/database";
import { forgetMeterCatalog, setMeterArchivedAt, type Meter } from "../db/meters";
import type { AuditContext } from "../domain/audit";
import { recordAudit } from "./audit-trail";
import { getMeter } from "./get-meter";

/**
 * Archives a meter (no new usage, no new entitlements naming it; history, balances and holds made
 * before stay) or unarchives it. Asking for the state it is already in changes and logs nothing.
 */
export async function setMeterArchived(env: Env, audit: AuditContext, key: string, archived: boolean): Promise<Meter> {
  const before = await getMeter(env, key);
  if ((before.archivedAt !== null) === archived) return before;
  const now = Date.now();
  const after = await setMeterArchivedAt(database(env.DB), key, archived ? now : null, now);
  // Another call got there first: it made the change and logged it.
  if (!after) return getMeter(env, key);
  forgetMeterCatalog();
  await recordAudit(env, audit, {
    action: archived ? "meter.archive" : "meter.unarchive",
    target: { type: "meter", id: key },
    before,
    after,
  });
  return after;
}
