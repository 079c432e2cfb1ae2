import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, flushLedger, uniqueSubject } from "../helpers/api";
import { createKey } from "../helpers/api-keys";
import { crossThreshold, subscribe } from "../helpers/outbound-webhooks";
import { deliver } from "../helpers/queue";

/**
 * Every configuration write, made once through the API by an API key, leaves exactly one audit
 * entry with its action, target, actor and request id; and every configuration write route in the
 * OpenAPI document is in this list, so a new one cannot go unlogged.
 */
type Write = {
  route: string;
  action: string;
  target: [string, string];
  send: (token: string) => Promise<{ status: number; headers: Headers; body: any }>;
};

const run = uniqueSubject("audit");
const subjectId = `${run}-subject`;
const meter = `audit_${crypto.randomUUID().slice(0, 8)}`;
const state: Record<string, string> = {};

beforeAll(async () => {
  await api("PUT", `/v1/plans/${run}-plan`, { body: { entitlements: { fax: { limit: 100 } } } });
  await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: `${run}-plan` } });
  for (const use of ["void", "amend"]) {
    state[use] = (
      await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 2, idempotencyKey: `${run}-${use}` } })
    ).body.event.id;
  }
  await flushLedger(subjectId);
  state.grant = (await api("POST", `/v1/subjects/${subjectId}/grants`, { body: { meter: "fax", amount: 5 } })).body.grant.id;
  await api("PUT", `/v1/plans/${run}-unused`, { body: { entitlements: {} } });
  for (const use of ["replay", "dismiss"]) {
    const messageId = `${run}-${use}`;
    await deliver("usage-events-dlq", [{ id: messageId, body: { subjectId, meter: "fax", amount: 1, idempotencyKey: messageId } }]);
    const letter = await env.DB.prepare("SELECT id FROM dead_letters WHERE message_id = ?").bind(messageId).first<{ id: string }>();
    state[use] = letter!.id;
  }
  state.rollKey = (await createKey(["usage:read"])).id;
  state.revokeKey = (await createKey(["usage:read"])).id;
  const endpoint = { url: `${env.TEST_RECEIVER_URL}/audit`, events: ["usage.voided"] };
  for (const use of ["endpoint", "endpointGone"]) {
    state[use] = `${run}-${use}`;
    await api("PUT", `/v1/webhook-endpoints/${state[use]}`, { body: endpoint });
  }
  state.redeliverEndpoint = `${run}-redeliver`;
  await subscribe(state.redeliverEndpoint, `ok-${run}`, ["entitlement.threshold_reached"]);
  await crossThreshold(`${run}-threshold`);
  for (let waited = 0; waited < 15_000; waited += 100) {
    if ((await api("GET", `/v1/webhook-endpoints/${state.redeliverEndpoint}/deliveries`)).body.data.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  state.delivery = (await api("GET", `/v1/webhook-endpoints/${state.redeliverEndpoint}/deliveries`)).body.data[0].id;
});

const WRITES: Write[] = [
  {
    route: "put /v1/meters/{key}",
    action: "meter.put",
    target: ["meter", meter],
    send: (t) => api("PUT", `/v1/meters/${meter}`, { body: { unit: "page" }, token: t }),
  },
  {
    route: "post /v1/meters/{key}/archive",
    action: "meter.archive",
    target: ["meter", meter],
    send: (t) => api("POST", `/v1/meters/${meter}/archive`, { token: t }),
  },
  {
    route: "post /v1/meters/{key}/unarchive",
    action: "meter.unarchive",
    target: ["meter", meter],
    send: (t) => api("POST", `/v1/meters/${meter}/unarchive`, { token: t }),
  },
  {
    route: "put /v1/plans/{planId}",
    action: "plan.put",
    target: ["plan", `${run}-plan`],
    send: (t) => api("PUT", `/v1/plans/${run}-plan`, { body: { entitlements: { fax: { limit: 200 } } }, token: t }),
  },
  {
    route: "delete /v1/plans/{planId}",
    action: "plan.delete",
    target: ["plan", `${run}-unused`],
    send: (t) => api("DELETE", `/v1/plans/${run}-unused`, { token: t }),
  },
  {
    route: "put /v1/subjects/{subjectId}",
    action: "subject.put",
    target: ["subject", subjectId],
    send: (t) => api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: `${run}-plan`, featureOverrides: { sso: true } }, token: t }),
  },
  {
    route: "post /v1/subjects/{subjectId}/recalculate",
    action: "subject.recalculate",
    target: ["subject", subjectId],
    send: (t) => api("POST", `/v1/subjects/${subjectId}/recalculate`, { token: t }),
  },
  {
    route: "post /v1/subjects/{subjectId}/grants",
    action: "grant.create",
    target: ["grant", ""],
    send: (t) => api("POST", `/v1/subjects/${subjectId}/grants`, { body: { meter: "fax", amount: 3 }, token: t }),
  },
  {
    route: "post /v1/subjects/{subjectId}/grants/{grantId}/void",
    action: "grant.void",
    target: ["grant", "grant"],
    send: (t) => api("POST", `/v1/subjects/${subjectId}/grants/${state.grant}/void`, { token: t }),
  },
  {
    route: "post /v1/usage/{id}/void",
    action: "usage.void",
    target: ["usage_event", "void"],
    send: (t) => api("POST", `/v1/usage/${state.void}/void`, { body: { reason: "test" }, token: t }),
  },
  {
    route: "post /v1/usage/{id}/amend",
    action: "usage.amend",
    target: ["usage_event", "amend"],
    send: (t) => api("POST", `/v1/usage/${state.amend}/amend`, { body: { amount: 1 }, token: t }),
  },
  {
    route: "post /v1/faxes",
    action: "fax.register",
    target: ["fax", `telnyx:${run}-fax`],
    send: (t) => api("POST", "/v1/faxes", { body: { provider: "telnyx", faxId: `${run}-fax`, subjectId }, token: t }),
  },
  {
    route: "post /v1/dead-letters/{id}/replay",
    action: "dead_letter.replay",
    target: ["dead_letter", "replay"],
    send: (t) => api("POST", `/v1/dead-letters/${state.replay}/replay`, { token: t }),
  },
  {
    route: "post /v1/dead-letters/{id}/dismiss",
    action: "dead_letter.dismiss",
    target: ["dead_letter", "dismiss"],
    send: (t) => api("POST", `/v1/dead-letters/${state.dismiss}/dismiss`, { token: t }),
  },
  {
    route: "put /v1/webhook-endpoints/{id}",
    action: "webhook_endpoint.put",
    target: ["webhook_endpoint", "endpoint"],
    send: (t) =>
      api("PUT", `/v1/webhook-endpoints/${state.endpoint}`, {
        body: { url: `${env.TEST_RECEIVER_URL}/audit`, events: ["usage.voided", "period.closed"] },
        token: t,
      }),
  },
  {
    route: "post /v1/webhook-endpoints/{id}/rotate-secret",
    action: "webhook_endpoint.rotate_secret",
    target: ["webhook_endpoint", "endpoint"],
    send: (t) => api("POST", `/v1/webhook-endpoints/${state.endpoint}/rotate-secret`, { body: { overlapSeconds: 60 }, token: t }),
  },
  {
    route: "post /v1/webhook-endpoints/{id}/test",
    action: "webhook_endpoint.test",
    target: ["webhook_endpoint", "endpoint"],
    send: (t) => api("POST", `/v1/webhook-endpoints/${state.endpoint}/test`, { token: t }),
  },
  {
    route: "post /v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver",
    action: "webhook_delivery.redeliver",
    target: ["webhook_delivery", "delivery"],
    send: (t) =>
      api("POST", `/v1/webhook-endpoints/${state.redeliverEndpoint}/deliveries/${encodeURIComponent(state.delivery!)}/redeliver`, {
        token: t,
      }),
  },
  {
    route: "delete /v1/webhook-endpoints/{id}",
    action: "webhook_endpoint.delete",
    target: ["webhook_endpoint", "endpointGone"],
    send: (t) => api("DELETE", `/v1/webhook-endpoints/${state.endpointGone}`, { token: t }),
  },
  {
    route: "post /v1/api-keys",
    action: "api_key.create",
    target: ["api_key", ""],
    send: (t) => api("POST", "/v1/api-keys", { body: { name: "made in audit test", scopes: ["usage:read"] }, token: t }),
  },
  {
    route: "post /v1/api-keys/{id}/roll",
    action: "api_key.roll",
    target: ["api_key", "rollKey"],
    send: (t) => api("POST", `/v1/api-keys/${state.rollKey}/roll`, { token: t }),
  },
  {
    route: "delete /v1/api-keys/{id}",
    action: "api_key.revoke",
    target: ["api_key", "revokeKey"],
    send: (t) => api("DELETE", `/v1/api-keys/${state.revokeKey}`, { token: t }),
  },
];

/** Writes that are not configuration: usage itself, balances, and reads dressed as POSTs. */
const NOT_CONFIGURATION = new Set([
  "post /v1/usage",
  "post /v1/usage/batch",
  "post /v1/usage/async",
  "post /v1/subjects/{subjectId}/entitlements/{meter}/check",
  "post /v1/subjects/{subjectId}/entitlements/{meter}/consume",
  "post /v1/subjects/{subjectId}/entitlements/{meter}/reserve",
  "post /v1/subjects/{subjectId}/reservations/{reservationId}/commit",
  "post /v1/subjects/{subjectId}/reservations/{reservationId}/release",
  "post /v1/subjects/{subjectId}/meters/{meter}/increment",
  "post /v1/subjects/{subjectId}/meters/{meter}/decrement",
  "put /v1/subjects/{subjectId}/meters/{meter}",
]);

describe("audit log: every configuration write", () => {
  it("lists every write route of the OpenAPI document that is not usage or a balance", async () => {
    const doc = (await api("GET", "/openapi.json", { token: null })).body as { paths: Record<string, Record<string, unknown>> };
    const writes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => m !== "get")
          .map((m) => `${m} ${path}`),
      )
      .filter((route) => !NOT_CONFIGURATION.has(route));
    expect(writes.sort()).toEqual(WRITES.map((w) => w.route).sort());
  });

  it("logs each exactly once, with its action, target, actor and request id, and no secret", async () => {
    const key = await createKey(["admin", "entitlements:write"], { name: "auditor" });
    for (const write of WRITES) {
      const res = await write.send(key.secret);
      expect(res.status, `${write.route}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
      const requestId = res.headers.get("x-request-id");
      const log = await api("GET", `/v1/audit-log?actorId=${key.id}&action=${write.action}&limit=500`);
      const entries = log.body.data.filter((e: { requestId: string }) => e.requestId === requestId);
      expect(entries, write.route).toHaveLength(1);
      const [type, id] = write.target;
      const targetId = id === "" ? entries[0].target.id : (state[id] ?? id);
      expect(entries[0], write.route).toMatchObject({ actor: { type: "api_key", id: key.id }, target: { type, id: targetId } });
      const text = JSON.stringify(entries[0]);
      expect(text, write.route).not.toMatch(/whsec_|tly_[A-Za-z0-9_-]{20}/);
    }
  });
});
