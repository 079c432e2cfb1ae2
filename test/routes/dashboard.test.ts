import { describe, expect, it } from "vitest";
import { api } from "../helpers/api";

describe("GET /dashboard", () => {
  it("serves the page and its assets from the worker, with a CSP that allows nothing else", async () => {
    const page = await api("GET", "/dashboard", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.body).toContain('<script src="/dashboard/app.js" defer></script>');
    expect(page.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    for (const [path, type] of [
      ["/dashboard/app.js", "text/javascript"],
      ["/dashboard/app.css", "text/css"],
    ] as const) {
      const res = await api("GET", path, { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain(type);
    }
  });
});
