import { and, desc, eq, lt, or } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
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
