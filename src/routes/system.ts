import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/app-env";
import { createRoute, json } from "./schemas";

const health = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["system"],
  summary: "Liveness",
  responses: { 200: json(z.object({ ok: z.literal(true) }), "The worker is up") },
});

export function registerSystemRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(health, (c) => c.json({ ok: true as const }, 200));
}
