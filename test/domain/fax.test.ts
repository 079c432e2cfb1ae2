import { describe, expect, it } from "vitest";
import { MAX_AMOUNT } from "../../src/domain/amount";
import { parseNotifyreEvent } from "../../src/webhooks/notifyre";
import { parseTelnyxEvent } from "../../src/webhooks/telnyx";
import { billingOf, failsFax, faxHoldKey, faxIdempotencyKey, holdsPages, MAX_FAX_PAGES, pageCountOf } from "../../src/domain/fax";

describe("fax page counts", () => {
  it("bills a delivered fax a whole number of pages from 1 to MAX_FAX_PAGES", () => {
    for (const pages of [1, 7, MAX_FAX_PAGES]) expect(billingOf(true, pages)).toEqual({ pageCount: pages, billable: true, refusal: null });
    expect(MAX_FAX_PAGES).toBeLessThan(MAX_AMOUNT);
  });

  // Counts a provider bug or a forged delivery could carry.
  it.each([1e300, MAX_FAX_PAGES + 1, 2.5, -3, 0, "7", null, undefined, Number.NaN, Number.POSITIVE_INFINITY, [3], { n: 3 }])(
    "refuses to bill a delivered fax with page count %j",
    (pages) => {
      expect(billingOf(true, pages)).toMatchObject({ billable: false, refusal: "INVALID_PAGE_COUNT" });
    },
  );

  it("neither bills nor refuses what is not a delivery, keeping any real count", () => {
    expect(billingOf(false, 6)).toEqual({ pageCount: 6, billable: false, refusal: null });
    expect(billingOf(false, 0)).toEqual({ pageCount: 0, billable: false, refusal: null });
    expect(billingOf(false, 1e300)).toEqual({ pageCount: null, billable: false, refusal: null });
    expect(billingOf(false, undefined)).toEqual({ pageCount: null, billable: false, refusal: null });
  });

  it("keeps only counts that are counts", () => {
    expect([0, 3, MAX_FAX_PAGES, MAX_FAX_PAGES + 1, -1, 1.5, "3", null].map(pageCountOf)).toEqual([
      0,
      3,
      MAX_FAX_PAGES,
      null,
      null,
      null,
      null,
      null,
    ]);
  });
});

describe("fax holds", () => {
  it("are taken only while the fax's outcome is unknown", () => {
    expect([null, "queued", "sending", "media.processed", "in_progress"].every(holdsPages)).toBe(true);
    expect(["delivered", "failed", "received"].some(holdsPages)).toBe(false);
  });

  it("are keyed by the fax, apart from the bill's key", () => {
    expect(faxHoldKey("telnyx", "f-1")).toBe("hold:telnyx:f-1");
    expect(faxHoldKey("telnyx", "f-1")).not.toBe(faxIdempotencyKey("telnyx", "f-1"));
    expect(faxHoldKey("notifyre", "f-1")).not.toBe(faxHoldKey("telnyx", "f-1"));
  });

  it("are released by a failed fax from either provider, never by another event", () => {
    const telnyx = (event_type: string, status: string) =>
      parseTelnyxEvent({ data: { event_type, id: "e", payload: { fax_id: "f", status, direction: "outbound" } } }, 0)!;
    const notifyre = (Status: string) => parseNotifyreEvent({ Event: "fax_sent", Payload: { ID: "f", Status, Pages: 2 } }, 0)!;
    expect([telnyx("fax.failed", "failed"), notifyre("failed"), notifyre("Busy"), notifyre("no-answer")].every(failsFax)).toBe(true);
    expect(
      [telnyx("fax.delivered", "delivered"), telnyx("fax.queued", "queued"), notifyre("successful"), notifyre("queued")].some(failsFax),
    ).toBe(false);
  });
});
