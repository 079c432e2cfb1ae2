import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { HistoryFilter } from "../db/usage-events";
import { DomainError } from "../domain/errors";
import { toPublicEvent } from "../domain/stored-event";
import { DimensionName, MeterKey, SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess } from "../http/auth";
import { getUsageEvent } from "../services/get-usage-event";
import { listHistory } from "../services/list-history";
import { decodeCursor, encodeCursor } from "./cursor";
import { bearerAuth, errorResponses, EventSchema, IncludeVoidedParam, json } from "./schemas";

const HistoryQuerySchema = z.object({
  meter: MeterKey.optional(),
  from: z.iso.datetime({ offset: true }).optional().openapi({ description: "Inclusive lower bound on the event time" }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: "Exclusive upper bound on the event time" }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(500).optional().openapi({ description: "nextCursor of the previous page" }),
  includeVoided: IncludeVoidedParam,
});

const DIMENSION_DOC =
  "Filter by dimension with `dimension.<name>=<value>`, e.g. `dimension.schoolId=S1` (repeatable with different names).";

export const HistoryPageSchema = z.object({ data: z.array(EventSchema), nextCursor: z.string().nullable() }).openapi("UsagePage");

const listUsage = createRoute({
  method: "get",
  path: "/v1/usage",
  tags: ["usage"],
  summary: "Usage history, newest first",
  description: `History from D1 (eventually consistent, usually within 2 s of recording). ${DIMENSION_DOC} A user token must pass its own subjectId.`,
  security: bearerAuth,
  request: { query: HistoryQuerySchema.extend({ subjectId: SubjectId.optional() }) },
  responses: { 200: json(HistoryPageSchema, "One page of events"), ...errorResponses() },
});

const getEvent = createRoute({
  method: "get",
  path: "/v1/usage/{id}",
  tags: ["usage"],
  summary: "One usage event",
  security: bearerAuth,
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: { 200: json(z.object({ event: EventSchema }), "The event"), ...errorResponses(404) },
});

const listMyUsage = createRoute({
  method: "get",
  path: "/v1/me/usage",
  tags: ["me"],
  summary: "The token's own usage history",
  description: `For user tokens. ${DIMENSION_DOC}`,
  security: bearerAuth,
  request: { query: HistoryQuerySchema },
  responses: { 200: json(HistoryPageSchema, "One page of events"), ...errorResponses() },
});

export function registerUsageReadRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listUsage, async (c) => {
    const query = c.req.valid("query");
    requireSubjectAccess(c, query.subjectId);
    return c.json(await historyPage(c, { ...query, subjectId: query.subjectId }), 200);
  });

  app.openapi(listMyUsage, async (c) => {
    const principal = c.get("principal");
    if (principal.kind !== "user")
      throw new DomainError("FORBIDDEN", "/v1/me needs a user token; use /v1/usage?subjectId= with the service key.");
    return c.json(await historyPage(c, { ...c.req.valid("query"), subjectId: principal.subjectId }), 200);
  });

  app.openapi(getEvent, async (c) => {
    const event = await getUsageEvent(c.env, c.req.valid("param").id);
    requireSubjectAccess(c, event.subjectId);
    return c.json({ event: toPublicEvent(event) }, 200);
  });
}

type HistoryQuery = z.infer<typeof HistoryQuerySchema> & { subjectId: string | undefined };

async function historyPage(c: Context<AppEnv>, query: HistoryQuery) {
  const filter = historyFilter(c, query);
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const after = cursor && { occurredAt: cursor.at, id: cursor.id };
  const events = await listHistory(c.env, filter, query.limit + 1, after);
  const page = events.slice(0, query.limit);
  const last = page[page.length - 1];
  const nextCursor = events.length > query.limit && last ? encodeCursor({ at: last.occurredAt, id: last.id }) : null;
  return { data: page.map(toPublicEvent), nextCursor };
}

/** The history filters of a query: subject, meter, time range and `dimension.<name>` parameters. */
export function historyFilter(
  c: Context<AppEnv>,
  query: {
    subjectId?: string | undefined;
    meter?: string | undefined;
    from?: string | undefined;
    to?: string | undefined;
    includeVoided?: boolean | undefined;
  },
): HistoryFilter {
  return {
    includeVoided: query.includeVoided === true,
    subjectId: query.subjectId,
    meter: query.meter,
    from: query.from === undefined ? undefined : Date.parse(query.from),
    to: query.to === undefined ? undefined : Date.parse(query.to),
    dimensions: dimensionFilters(c),
  };
}

/** `dimension.<name>=<value>` query parameters; names follow the same rule as event dimensions. */
export function dimensionFilters(c: Context<AppEnv>): Record<string, string> {
  const filters: Record<string, string> = {};
  for (const [key, values] of Object.entries(c.req.queries())) {
    if (!key.startsWith("dimension.")) continue;
    const name = key.slice("dimension.".length);
    const value = values[0];
    if (!DimensionName.safeParse(name).success || values.length !== 1 || value === undefined || value.length > 256) {
      throw new DomainError("VALIDATION_FAILED", `Invalid dimension filter '${key}'.`, {
        issues: [{ path: key, code: "invalid_dimension_filter", message: "use dimension.<name>=<value> once per name" }],
      });
    }
    filters[name] = value;
  }
  return filters;
}
