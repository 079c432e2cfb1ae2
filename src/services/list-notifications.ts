import { database } from "../db/database";
import { listNotifications as notificationRows, type NotificationFilter, type NotificationRow } from "../db/notifications";

/** What ledgers wrote (thresholds, limits, closed periods), newest first, after the cursor row. */
export async function listNotifications(
  env: Env,
  filter: NotificationFilter,
  limit: number,
  before?: { at: number; id: string },
): Promise<NotificationRow[]> {
  return notificationRows(database(env.DB), filter, limit, before);
}
