import { describe, expect, it } from "vitest";
import { api, uniqueSubject, userToken } from "../helpers/api";
import { sendTelnyx, telnyxFax } from "../helpers/webhooks";

describe("GET /v1/faxes/{provider}/{faxId}", () => {
  it("answers the registry row, its bill and every receipt, oldest first", async () => {
    const subjectId = uniqueSubject("read-fax");
    const faxId = `read-${crypto.randomUUID()}`;
    const t0 = Date.now() - 60_000;
    await sendTelnyx(telnyxFax("fax.sending.started", { faxId, subjectId, eventId: "e-sending", occurredAt: new Date(t0).toISOString() }));
    await sendTelnyx(
      telnyxFax("fax.delivered", { faxId, subjectId, pages: 2, eventId: "e-delivered", occurredAt: new Date(t0 + 1000).toISOString() }),
    );
    const res = await api("GET", `/v1/faxes/telnyx/${faxId}`);
    expect(res.status).toBe(200);
    expect(res.body.fax).toEqual({
      provider: "telnyx",
      faxId,
      subjectId,
      direction: "outbound",
      status: "delivered",
      pageCount: 2,
      failureReason: null,
      billedSubjectId: subjectId,
      billedPages: 2,
      billedAt: expect.any(String),
    });
    expect(res.body.receipts).toEqual([
      {
        eventId: "e-sending",
        eventType: "fax.sending.started",
        status: "sending",
        pageCount: null,
        failureReason: null,
        attributionConflict: null,
        occurredAt: new Date(t0).toISOString(),
        receivedAt: expect.any(String),
      },
      expect.objectContaining({ eventId: "e-delivered", eventType: "fax.delivered", pageCount: 2, attributionConflict: null }),
    ]);
  });

  it("shows a failed or unbilled fax with no bill", async () => {
    const failed = telnyxFax("fax.failed", { subjectId: uniqueSubject("read-fax"), failureReason: "user_busy" });
    await sendTelnyx(failed);
    const res = await api("GET", `/v1/faxes/telnyx/${failed.data.payload.fax_id}`);
    expect(res.body.fax).toMatchObject({
      status: "failed",
      failureReason: "user_busy",
      billedSubjectId: null,
      billedPages: null,
      billedAt: null,
    });
    expect(res.body.receipts).toEqual([expect.objectContaining({ eventType: "fax.failed", failureReason: "user_busy" })]);
  });

  it("answers 404 for an unknown fax, 400 for an unknown provider, and only the service key", async () => {
    expect((await api("GET", "/v1/faxes/telnyx/no-such-fax")).body.error.code).toBe("NOT_FOUND");
    expect((await api("GET", "/v1/faxes/telnyx/no-such-fax")).status).toBe(404);
    expect((await api("GET", "/v1/faxes/faxco/no-such-fax")).status).toBe(400);
    expect((await api("GET", "/v1/faxes/telnyx/no-such-fax", { token: null })).status).toBe(401);
    expect((await api("GET", "/v1/faxes/telnyx/no-such-fax", { token: await userToken("someone") })).status).toBe(403);
  });
});
