import { and, asc, desc, eq, gt, lt, or, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { deliveryIdOf, type NotificationType } from "../domain/notifications";
import type { EndpointSecrets } from "../domain/standard-webhooks";
import { webhookDeliveries, webhookEndpoints } from "./schema";

export interface WebhookEndpoint extends EndpointSecrets {
  id: string;
  url: string;
  events: NotificationType[];
  description: string | null;
  createdAt: number;
  updatedAt: number;
}

export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export async function findEndpoint(db: DrizzleD1Database, id: string): Promise<WebhookEndpoint | null> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).limit(1);
  return row ? toEndpoint(row) : null;
}

/**
 * Creates an endpoint or updates one. An update changes the secrets only with `replaceSecrets`,
 * so a PUT racing a rotation cannot put back the secret the rotation replaced. Answers the row as
 * stored.
 */
export async function saveEndpoint(db: DrizzleD1Database, endpoint: WebhookEndpoint, replaceSecrets: boolean): Promise<WebhookEndpoint> {
  const values = { ...endpoint, events: JSON.stringify(endpoint.events) };
  const secrets = { secret: values.secret, previousSecret: values.previousSecret, previousSecretExpiresAt: values.previousSecretExpiresAt };
  const [row] = await db
    .insert(webhookEndpoints)
    .values(values)
    .onConflictDoUpdate({
      target: webhookEndpoints.id,
      set: {
        url: values.url,
        events: values.events,
        description: values.description,
        ...(replaceSecrets ? secrets : {}),
        updatedAt: values.updatedAt,
      },
    })
    .returning();
  return toEndpoint(row!);
}

/** Sets an endpoint's secrets; null when there is no such endpoint. */
export async function updateEndpointSecrets(
  db: DrizzleD1Database,
  id: string,
  secrets: EndpointSecrets,
  nowMs: number,
  /** The secret the change was computed from: another rotation meanwhile makes this a no-op (null). */
  expectedSecret: string,
): Promise<WebhookEndpoint | null> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ ...secrets, updatedAt: nowMs })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.secret, expectedSecret)))
    .returning();
  return row ? toEndpoint(row) : null;
}

/** Answers the endpoint as it was; null when there was none. */
export async function deleteEndpoint(db: DrizzleD1Database, id: string): Promise<WebhookEndpoint | null> {
  const [row] = await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning();
  return row ? toEndpoint(row) : null;
}

/** A page of endpoints in id order, after `afterId`. */
export async function listEndpoints(db: DrizzleD1Database, afterId: string | null, limit: number): Promise<WebhookEndpoint[]> {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(afterId === null ? undefined : gt(webhookEndpoints.id, afterId))
    .orderBy(asc(webhookEndpoints.id))
    .limit(limit);
  return rows.map(toEndpoint);
}

/** Endpoints subscribed to a type. */
export async function endpointsFor(db: DrizzleD1Database, type: NotificationType): Promise<WebhookEndpoint[]> {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(sql`EXISTS (SELECT 1 FROM json_each(${webhookEndpoints.events}) WHERE value = ${type})`);
  return rows.map(toEndpoint);
}

/** A row when any endpoint subscribes to usage.recorded, none otherwise; for a D1 batch. */
export function usageRecordedSubscribedStatement(d1: D1Database): D1PreparedStatement {
  return d1.prepare(
    "SELECT 1 AS yes FROM webhook_endpoints, json_each(webhook_endpoints.events) WHERE json_each.value = 'usage.recorded' LIMIT 1",
  );
}

/** Records, in one batch, that a notification is due at each endpoint, once. */
export async function recordPendingDeliveries(
  d1: D1Database,
  endpointIds: string[],
  notification: { id: string; type: string },
  nowMs: number,
): Promise<void> {
  await d1.batch(endpointIds.map((endpointId) => pendingDeliveryStatement(d1, endpointId, notification.id, notification.type, nowMs)));
}

function pendingDeliveryStatement(d1: D1Database, endpointId: string, notificationId: string, type: string, nowMs: number) {
  return d1
    .prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, notification_id, event_type, status, attempts, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT DO NOTHING`,
    )
    .bind(deliveryIdOf(notificationId, endpointId), endpointId, notificationId, type, nowMs, nowMs);
}

export async function recordAttempt(
  d1: D1Database,
  deliveryId: string,
  outcome: { status: "pending" | "succeeded" | "failed"; statusCode: number | null; error: string | null; countAttempt: boolean },
  nowMs: number,
): Promise<void> {
  await d1
    .prepare(
      `UPDATE webhook_deliveries SET status = ?, attempts = attempts + ?, last_status_code = coalesce(?, last_status_code),
         last_error = ?, updated_at = ? WHERE id = ? AND status != 'succeeded'`,
    )
    .bind(outcome.status, outcome.countAttempt ? 1 : 0, outcome.statusCode, outcome.error, nowMs, deliveryId)
    .run();
}

export async function findDelivery(db: DrizzleD1Database, endpointId: string, deliveryId: string): Promise<DeliveryRow | null> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)))
    .limit(1);
  return row ?? null;
}

/** A delivery due again, whatever it came to before; attempts and the last answer are kept. */
export async function markDeliveryPending(db: DrizzleD1Database, deliveryId: string, nowMs: number): Promise<DeliveryRow | null> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({ status: "pending", updatedAt: nowMs })
    .where(eq(webhookDeliveries.id, deliveryId))
    .returning();
  return row ?? null;
}

/** A delivery made and finished at once (a test event): logged with its outcome. */
export async function insertDelivery(db: DrizzleD1Database, row: DeliveryRow): Promise<void> {
  await db.insert(webhookDeliveries).values(row);
}

/** A delivery the queue gave up on is failed, keeping its last answer; a delivered one stays delivered. */
export async function markDeliveryAbandoned(d1: D1Database, deliveryId: string, nowMs: number): Promise<void> {
  await d1
    .prepare(
      `UPDATE webhook_deliveries SET status = 'failed', last_error = 'retries exhausted; last: ' || coalesce(last_error, 'none'),
           updated_at = ? WHERE id = ? AND status != 'succeeded'`,
    )
    .bind(nowMs, deliveryId)
    .run();
}

export async function listDeliveries(db: DrizzleD1Database, endpointId: string, limit: number, before?: { at: number; id: string }) {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpointId),
        before
          ? or(
              lt(webhookDeliveries.createdAt, before.at),
              and(eq(webhookDeliveries.createdAt, before.at), lt(webhookDeliveries.id, before.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit);
}

function toEndpoint(row: typeof webhookEndpoints.$inferSelect): WebhookEndpoint {
  return { ...row, events: JSON.parse(row.events) as NotificationType[] };
}
