import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { fromE4 } from "../domain/amount";
import type { GroupKey } from "../domain/summary-plan";
import { bucketsBetween, isTimeZone, offsetSegments, type BucketUnit } from "../domain/time-buckets";
import { DimensionName, MeterKey, SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess } from "../http/auth";
import { invalidField } from "../http/errors";
import { exportUsageCsv } from "../services/export-usage-csv";
import { summariseUsage } from "../services/summarise-usage";
import { createRoute, errorResponses, IncludeVoidedParam, json, queryParameters, repeatable, requiresScope } from "./schemas";
import { dimensionFilters, historyFilter } from "./usage-read";

const TIME_UNITS: BucketUnit[] = ["day", "week", "month"];
const DEFAULT_RANGE_MS = 30 * 24 * 60 * 60 * 1000;

const REPORT_QUERY = {
  subjectId: SubjectId.optional(),
  meter: MeterKey.optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  includeVoided: IncludeVoidedParam,
};

export const UsageSummarySchema = z
  .object({
    data: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))),
    from: z.string().nullable(),
    to: z.string().nullable(),
    tz: z.string(),
  })
  .openapi("UsageSummary");

const summaryRoute = createRoute({
  method: "get",
  path: "/v1/usage/summary",
  tags: ["reports"],
  summary: "Usage totals, grouped",
  description:
    "`groupBy`: comma-separated (or repeated) `meter`, `subjectId`, one of `day` / `week` (ISO, from Monday) / `month`, and `dimension.<name>`. Time buckets are cut in `tz` (IANA, default UTC) and labelled with their first date; with a time bucket and no `from`, the last 30 days. Filters as for history, including `dimension.<name>=<value>`. `total` is the sum of amounts (gauges: increments minus decrements), `count` the events, `subjects` the distinct subjects. Days older than the hot window (`HISTORY_HOT_DAYS`) are archived and summarised exactly all the same, from the rollups plus the archived events of what the rollups cannot answer; a summary that would decode more than 200,000 archived events, or count more than 8,000 of them (e.g. a dimension the rollups do not keep, or `includeVoided`, over a long archived range), answers 422 `HISTORY_ARCHIVED`: narrow the range.",
  security: requiresScope("usage:read", { users: true }),
  request: {
    query: queryParameters(
      { ...REPORT_QUERY, groupBy: repeatable(z.string().max(300), 6).optional(), tz: z.string().max(64).default("UTC") },
      { dimensionFilters: true },
    ),
  },
  responses: {
    200: json(UsageSummarySchema, "One row per group"),
    ...errorResponses(422),
  },
});

const exportRoute = createRoute({
  method: "get",
  path: "/v1/usage/export.csv",
  tags: ["reports"],
  summary: "History as CSV, streamed",
  description:
    "Same filters as history, oldest first. Columns: id, subjectId, meter, unit, amount, operation, timestamp, receivedAt, source, idempotencyKey, then one column per name in `dimensions` (comma-separated), then `dimensionsJson` and `metadataJson`. RFC 4180 quoting; a text cell starting with `=`, `+`, `-`, `@`, TAB or CR is prefixed with `'` so spreadsheets show it rather than run it.",
  security: requiresScope("usage:read", { users: true }),
  request: { query: queryParameters({ ...REPORT_QUERY, dimensions: z.string().max(500).optional() }, { dimensionFilters: true }) },
  responses: { 200: { description: "text/csv", content: { "text/csv": { schema: z.string() } } }, ...errorResponses() },
});

export function registerReportRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(summaryRoute, async (c) => {
    const q = c.req.valid("query");
    requireSubjectAccess(c, q.subjectId);
    if (!isTimeZone(q.tz)) throw invalidField("tz", "must be an IANA time zone such as Europe/Paris");
    const groupBy = parseGroupBy(c);
    const unit = groupBy.find((k): k is BucketUnit => (TIME_UNITS as string[]).includes(k));
    const to = q.to === undefined ? (unit ? Date.now() : undefined) : Date.parse(q.to);
    const from = q.from === undefined ? (unit ? to! - DEFAULT_RANGE_MS : undefined) : Date.parse(q.from);
    const buckets = unit ? bucketsBetween(from!, to!, unit, q.tz) : null;
    if (unit && !buckets) throw invalidField("groupBy", `too many ${unit} buckets for the range (at most 1000)`);
    const offsets = unit ? offsetSegments(from!, to!, q.tz) : null;
    const query = {
      groupBy,
      subjectId: q.subjectId,
      meter: q.meter,
      from,
      to,
      dimensions: dimensionFilters(c),
      buckets,
      includeVoided: q.includeVoided,
    };
    const rows = await summariseUsage(c.env, query, offsets);
    return c.json(
      {
        data: rows.map((r) => ({ ...r.keys, total: fromE4(r.totalE4), count: r.count, subjects: r.subjects })),
        from: from === undefined ? null : new Date(from).toISOString(),
        to: to === undefined ? null : new Date(to).toISOString(),
        tz: q.tz,
      },
      200,
    );
  });

  app.openapi(exportRoute, async (c) => {
    const q = c.req.valid("query");
    requireSubjectAccess(c, q.subjectId);
    const columns = (q.dimensions ?? "")
      .split(",")
      .map((d) => d.trim())
      .filter(Boolean);
    for (const name of columns)
      if (!DimensionName.safeParse(name).success) throw invalidField("dimensions", `'${name}' is not a dimension name`);
    return new Response(exportUsageCsv(c.env, historyFilter(c, q), columns), {
      headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="usage.csv"' },
    }) as never;
  });
}

function parseGroupBy(c: Context<AppEnv>): GroupKey[] {
  const raw = (c.req.queries("groupBy") ?? [])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  const keys = [...new Set(raw)];
  if (keys.length > 6) throw invalidField("groupBy", "at most 6 keys");
  for (const key of keys) {
    const ok =
      key === "meter" ||
      key === "subjectId" ||
      (TIME_UNITS as string[]).includes(key) ||
      (key.startsWith("dimension.") && DimensionName.safeParse(key.slice("dimension.".length)).success);
    if (!ok) throw invalidField("groupBy", `'${key}' is not meter, subjectId, day, week, month or dimension.<name>`);
  }
  if (keys.filter((k) => (TIME_UNITS as string[]).includes(k)).length > 1) throw invalidField("groupBy", "at most one of day, week, month");
  return keys as GroupKey[];
}
