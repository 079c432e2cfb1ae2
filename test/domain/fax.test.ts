import { describe, expect, it } from "vitest";
import { MAX_AMOUNT } from "../../src/domain/amount";
import { billingOf, MAX_FAX_PAGES, pageCountOf } from "../../src/domain/fax";

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
