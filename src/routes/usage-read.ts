import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { HistoryFilter } from "../domain/history-queries";
import { toPublicEvent } from "../domain/stored-event";
import { MeterKey, SubjectId } from "../domain/usage-event";
import { wellFormedString } from "../domain/well-formed";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess, requireUserSubject } from "../http/auth";
import { getUsageEvent } from "../services/get-usage-event";
import { listHistory } from "../services/list-history";
import { historyCursor } from "./cursor";
import {
  userTokenOnly,
  createRoute,
  errorResponses,
  EventSchema,
  IncludeVoidedParam,
  json,
  parseDimensionFilters,
  queryParameters,
  requiresScope,
} from "./schemas";

const HISTORY_QUERY = {
  meter: MeterKey.optional(),
  from: z.iso.datetime({ offset: true }).optional().openapi({ description: "Inclusive lower bound on the event time" }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: "Exclusive upper bound on the event time" }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(500).optional().openapi({ description: "nextCursor of the previous page" }),
  includeVoided: IncludeVoidedParam,
};

const DIMENSION_DOC =
  "Filter by dimension with `dimension.<name>=<value>`, e.g. `dimension.schoolId=S1` (repeatable with different names).";

export const HistoryPageSchema = z.object({ data: z.array(EventSchema), nextCursor: z.string().nullable() }).openapi("UsagePage");

const listUsage = createRoute({
  method: "get",
  path: "/v1/usage",
  tags: ["usage"],
  summary: "Usage history, newest first",
  description: `History from D1 (eventually consistent, usually within 2 s of recording), and for days older than \`HISTORY_HOT_DAYS\` from the R2 archive, in the same order and shape. ${DIMENSION_DOC} A user token must pass its own subjectId.`,
  security: requiresScope("usage:read", { users: true }),
  request: { query: queryParameters({ ...HISTORY_QUERY, subjectId: SubjectId.optional() }, { dimensionFilters: true }) },
  responses: { 200: json(HistoryPageSchema, "One page of events"), ...errorResponses() },
});

const getEvent = createRoute({
  method: "get",
  path: "/v1/usage/{id}",
  tags: ["usage"],
  summary: "One usage event",
  description:
    "Events of archived days (older than `HISTORY_HOT_DAYS`) answer 404: the archive keeps no index of ids; list them by time instead.",
  security: requiresScope("usage:read", { users: true }),
  request: { params: z.object({ id: wellFormedString().min(1).max(100) }) },
  responses: { 200: json(z.object({ event: EventSchema }), "The event"), ...errorResponses(404) },
});

const listMyUsage = createRoute({
  method: "get",
  path: "/v1/me/usage",
  tags: ["me"],
  summary: "The token's own usage history",
  description: `For user tokens. ${DIMENSION_DOC}`,
  security: userTokenOnly,
  request: { query: queryParameters(HISTORY_QUERY, { dimensionFilters: true }) },
  responses: { 200: json(HistoryPageSchema, "One page of events"), ...errorResponses() },
});

export function registerUsageReadRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listUsage, async (c) => {
    const query = c.req.valid("query");
    requireSubjectAccess(c, query.subjectId);
    return c.json(await historyPage(c, { ...query, subjectId: query.subjectId }), 200);
  });

  app.openapi(listMyUsage, async (c) => {
    const subjectId = requireUserSubject(c);
    return c.json(await historyPage(c, { ...c.req.valid("query"), subjectId: subjectId }), 200);
  });

  app.openapi(getEvent, async (c) => {
    const event = await getUsageEvent(c.env, c.req.valid("param").id);
    requireSubjectAccess(c, event.subjectId);
    return c.json({ event: toPublicEvent(event) }, 200);
  });
}

type HistoryQuery = z.infer<z.ZodObject<typeof HISTORY_QUERY>> & { subjectId: string | undefined };

async function historyPage(c: Context<AppEnv>, query: HistoryQuery) {
  const filter = historyFilter(c, query);
  const cursor = query.cursor === undefined ? undefined : historyCursor.decode(query.cursor);
  const after = cursor && { occurredAt: cursor.at, id: cursor.id };
  const events = await listHistory(c.env, filter, query.limit + 1, after);
  const page = events.slice(0, query.limit);
  const last = page[page.length - 1];
  const nextCursor = events.length > query.limit && last ? historyCursor.encode({ at: last.occurredAt, id: last.id }) : null;
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

/** `dimension.<name>=<value>` query parameters; names and values follow the same rules as event dimensions. */
export function dimensionFilters(c: Context<AppEnv>): Record<string, string> {
  return parseDimensionFilters(c.req.queries());
}
