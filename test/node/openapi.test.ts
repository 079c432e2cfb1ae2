import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";

const ROUTES = [
  "get /healthz",
  "post /v1/usage",
  "post /v1/usage/batch",
  "get /v1/usage",
  "get /v1/usage/{id}",
  "post /v1/usage/{id}/void",
  "post /v1/usage/{id}/amend",
  "get /v1/me/usage",
  "put /v1/meters/{key}",
  "get /v1/meters",
  "get /v1/meters/{key}",
  "post /v1/meters/{key}/archive",
  "post /v1/meters/{key}/unarchive",
  "put /v1/plans/{planId}",
  "get /v1/plans/{planId}",
  "get /v1/plans",
  "delete /v1/plans/{planId}",
  "get /v1/subjects",
  "put /v1/subjects/{subjectId}",
  "get /v1/subjects/{subjectId}",
  "post /v1/subjects/{subjectId}/recalculate",
  "get /v1/subjects/{subjectId}/entitlements",
  "get /v1/me/entitlements",
  "get /v1/subjects/{subjectId}/features",
  "get /v1/me/features",
  "post /v1/subjects/{subjectId}/entitlements/{meter}/check",
  "post /v1/subjects/{subjectId}/entitlements/{meter}/consume",
  "post /v1/subjects/{subjectId}/entitlements/{meter}/reserve",
  "post /v1/subjects/{subjectId}/reservations/{reservationId}/commit",
  "post /v1/subjects/{subjectId}/reservations/{reservationId}/release",
  "get /v1/subjects/{subjectId}/reservations",
  "get /v1/subjects/{subjectId}/reservations/{reservationId}",
  "post /v1/subjects/{subjectId}/grants",
  "get /v1/subjects/{subjectId}/grants",
  "post /v1/subjects/{subjectId}/grants/{grantId}/void",
  "post /v1/subjects/{subjectId}/meters/{meter}/increment",
  "post /v1/subjects/{subjectId}/meters/{meter}/decrement",
  "put /v1/subjects/{subjectId}/meters/{meter}",
  "post /v1/faxes",
  "get /v1/faxes/{provider}/{faxId}",
  "get /v1/webhooks/unattributed",
  "post /webhooks/telnyx",
  "post /webhooks/notifyre",
  "post /v1/usage/async",
  "get /v1/dead-letters",
  "post /v1/dead-letters/{id}/replay",
  "post /v1/dead-letters/{id}/dismiss",
  "get /v1/periods",
  "get /v1/usage/summary",
  "get /v1/usage/export.csv",
  "put /v1/webhook-endpoints/{id}",
  "get /v1/webhook-endpoints/{id}",
  "delete /v1/webhook-endpoints/{id}",
  "get /v1/webhook-endpoints/{id}/deliveries",
  "get /v1/webhook-endpoints",
  "post /v1/webhook-endpoints/{id}/test",
  "post /v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver",
  "post /v1/webhook-endpoints/{id}/rotate-secret",
  "get /v1/notifications",
  "post /v1/api-keys",
  "get /v1/api-keys",
  "get /v1/api-keys/{id}",
  "delete /v1/api-keys/{id}",
  "post /v1/api-keys/{id}/roll",
  "get /v1/audit-log",
];

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document listing every route", async () => {
    // Served by the real app; this file runs in Node because the validator reads its schemas from disk.
    const res = await createApp().request("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");

    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);

    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(listed.sort()).toEqual([...ROUTES].sort());
  });
});
