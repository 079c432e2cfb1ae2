import { and, desc, eq, lt, or } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Notification, NotificationType } from "../domain/notifications";
import { notifications } from "./schema";

export type NotificationRow = typeof notifications.$inferSelect;

export interface NotificationFilter {
  subjectId?: string;
  type?: string;
}

/** Notifications newest first, after the cursor row. */
export async function listNotifications(
  db: DrizzleD1Database,
  filter: NotificationFilter,
  limit: number,
  before?: { at: number; id: string },
): Promise<NotificationRow[]> {
  return db
    .select()
    .from(notifications)
    .where(
      and(
        filter.subjectId === undefined ? undefined : eq(notifications.subjectId, filter.subjectId),
        filter.type === undefined ? undefined : eq(notifications.type, filter.type),
        before
          ? or(lt(notifications.createdAt, before.at), and(eq(notifications.createdAt, before.at), lt(notifications.id, before.id)))
          : undefined,
      ),
    )
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(limit);
}

/** A stored notification as the queue carried it (its `meter` is a column only, for filters). */
export async function findNotification(db: DrizzleD1Database, id: string): Promise<Notification | null> {
  const [row] = await db.select().from(notifications).where(eq(notifications.id, id)).limit(1);
  if (!row) return null;
  return {
    id: row.id,
    type: row.type as NotificationType,
    subjectId: row.subjectId,
    createdAt: row.createdAt,
    payload: JSON.parse(row.payload) as Notification["payload"],
  };
}
