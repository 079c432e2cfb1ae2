import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { api, uniqueSubject } from "./api";

export interface Received {
  headers: Record<string, string>;
  body: string;
}

/** What the test receiver (test/setup/webhook-receiver.ts) got at /hook/<name>, oldest first. */
export async function receivedAt(name: string): Promise<Received[]> {
  return (await fetch(`${env.TEST_RECEIVER_URL}/requests/${name}`)).json();
}

/** Creates an endpoint pointing at the receiver's /hook/<name>; answers its secret. */
export async function subscribe(id: string, name: string, events: string[]): Promise<string> {
  const res = await api("PUT", `/v1/webhook-endpoints/${id}`, { body: { url: `${env.TEST_RECEIVER_URL}/hook/${name}`, events } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.endpoint.secret).toMatch(/^whsec_/);
  return res.body.endpoint.secret;
}

/** The pending delivery row that fan-out would have written for a notification and an endpoint. */
export async function pendingDelivery(notification: { id: string; type: string }, endpointId: string): Promise<void> {
  await env.DB.prepare(
    "INSERT INTO webhook_deliveries (id, endpoint_id, notification_id, event_type, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', 0, 0)",
  )
    .bind(`${notification.id}:${endpointId}`, endpointId, notification.id, notification.type)
    .run();
}

/** A new subject on `planId` crosses its 50 % threshold of api_call; answers the subject. */
export async function crossThreshold(planId: string): Promise<string> {
  await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { api_call: { limit: 10, thresholds: [50] } } } });
  const subjectId = uniqueSubject("ntf");
  await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } });
  await Promise.all(Array.from({ length: 8 }, () => api("POST", "/v1/usage", { body: { subjectId, meter: "api_call" } })));
  return subjectId;
}
