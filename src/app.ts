import { OpenAPIHono } from "@hono/zod-openapi";
import { requestId } from "hono/request-id";
import { DomainError } from "./domain/errors";
import type { AppEnv } from "./http/app-env";
import { authenticate } from "./http/auth";
import { authorise } from "./http/route-access";
import { errorResponse, handleError, validationError } from "./http/errors";
import { corsForAllowedOrigins, limitBody, requestLog, requireJsonBody } from "./http/middleware";
import { registerApiKeyRoutes } from "./routes/api-keys";
import { registerAuditLogRoutes } from "./routes/audit-log";
import { registerDeadLetterRoutes } from "./routes/dead-letters";
import { registerEntitlementRoutes } from "./routes/entitlements";
import { registerFaxRoutes } from "./routes/faxes";
import { registerFeatureRoutes } from "./routes/features";
import { registerGaugeRoutes } from "./routes/gauges";
import { registerGrantRoutes } from "./routes/grants";
import { registerMeterRoutes } from "./routes/meters";
import { registerDashboardRoutes } from "./routes/dashboard";
import { registerNotificationRoutes } from "./routes/notifications";
import { registerPeriodRoutes } from "./routes/periods";
import { registerPlanRoutes } from "./routes/plans";
import { registerReportRoutes } from "./routes/reports";
import { registerReservationRoutes } from "./routes/reservations";
import { registerSubjectRoutes } from "./routes/subjects";
import { registerSystemRoutes } from "./routes/system";
import { registerUsageCorrectionRoutes } from "./routes/usage-corrections";
import { registerUsageReadRoutes } from "./routes/usage-read";
import { registerUsageWriteRoutes } from "./routes/usage-write";
import { registerWebhookDeliveryRoutes } from "./routes/webhook-deliveries";
import { registerWebhookEndpointRoutes } from "./routes/webhook-endpoints";
import { registerWebhookRoutes } from "./routes/webhooks";

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target === "json" ? "body" : result.target);
    },
  });

  app.use("*", requestId());
  app.use("*", requestLog());
  app.use("/v1/*", corsForAllowedOrigins());
  app.use("/v1/*", limitBody());
  app.use("/v1/*", requireJsonBody());
  app.use("/v1/*", authenticate());
  app.use("/v1/*", authorise(app));
  app.use("/webhooks/*", limitBody());

  registerSystemRoutes(app);
  registerUsageWriteRoutes(app);
  registerReportRoutes(app); // before /v1/usage/{id}, which would take "summary" for an id
  registerUsageReadRoutes(app);
  registerUsageCorrectionRoutes(app);
  registerMeterRoutes(app);
  registerPlanRoutes(app);
  registerSubjectRoutes(app);
  registerEntitlementRoutes(app);
  registerFeatureRoutes(app);
  registerGaugeRoutes(app);
  registerReservationRoutes(app);
  registerGrantRoutes(app);
  registerFaxRoutes(app);
  registerDeadLetterRoutes(app);
  registerPeriodRoutes(app);
  registerWebhookEndpointRoutes(app);
  registerWebhookDeliveryRoutes(app);
  registerNotificationRoutes(app);
  registerApiKeyRoutes(app);
  registerAuditLogRoutes(app);
  registerDashboardRoutes(app);
  registerWebhookRoutes(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "userToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A user JWT (HS256 with JWT_SECRET, sub = subject id, exp required; iss and aud checked when JWT_ISSUER / JWT_AUDIENCE are set). It reads only its own subject.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description:
      "The root key (SERVICE_API_KEY, every route), or an API key (`tly_…`) holding the scope the route lists (none listed: any key).",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "tally",
      version: "0.1.0",
      description: "Usage metering and entitlements on Cloudflare Workers.",
    },
  });

  app.notFound((c) => errorResponse(c, new DomainError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`)));
  app.onError(handleError);
  return app;
}
