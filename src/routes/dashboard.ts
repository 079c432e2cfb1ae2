import type { OpenAPIHono } from "@hono/zod-openapi";
import { DASHBOARD_HTML } from "../dashboard/page";
import { DASHBOARD_JS } from "../dashboard/script";
import { DASHBOARD_CSS } from "../dashboard/styles";
import type { AppEnv } from "../http/app-env";

/** Everything the page needs comes from the worker itself; the policy forbids anything else. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export function registerDashboardRoutes(app: OpenAPIHono<AppEnv>): void {
  app.get("/dashboard", (c) => c.html(DASHBOARD_HTML, 200, SECURITY_HEADERS));
  app.get("/dashboard/app.js", (c) =>
    c.body(DASHBOARD_JS, 200, {
      ...SECURITY_HEADERS,
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=300",
    }),
  );
  app.get("/dashboard/app.css", (c) =>
    c.body(DASHBOARD_CSS, 200, { ...SECURITY_HEADERS, "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=300" }),
  );
}
