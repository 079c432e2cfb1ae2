import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { fromE4 } from "../domain/amount";
import type { GroupKey, SummaryQuery } from "../domain/summary-plan";
import { SUMMARY_COMPARISONS, SUMMARY_SORTS } from "../domain/summary-report";
import { BUCKET_UNITS, bucketsBetween, isBucketUnit, isTimeZone, type BucketUnit } from "../domain/time-buckets";
import { DimensionName, MeterKey, SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess } from "../http/auth";
import { invalidField } from "../http/errors";
import { exportUsageCsv } from "../services/export-usage-csv";
import { summariseUsage } from "../services/summarise-usage";
import { createRoute, errorResponses, IncludeVoidedParam, json, queryParameters, repeatable, requiresScope } from "./schemas";
import { dimensionFilters, historyFilter } from "./usage-read";

const HOUR_MS = 60 * 60 * 1000;
/** The range a summary covers when it needs one (a time bucket, `compare`) and `from` is left out. */
const defaultRangeMs = (unit: BucketUnit | undefined) => (unit === "hour" ? 24 * HOUR_MS : 30 * 24 * HOUR_MS);
const DISTINCT_PREFIX = "dimension.";

const REPORT_QUERY = {
  subjectId: SubjectId.optional(),
  meter: MeterKey.optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  includeVoided: IncludeVoidedParam,
};

export const UsageSummarySchema = z
  .object({
    data: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))).openapi({
      description:
        "One row per group: each `groupBy` key under its own name (null where an event has no such dimension), `total`, `count` and `subjects`; `distinct` with `distinct`, `previousTotal` with `compare=previous`.",
    }),
    from: z.string().nullable(),
    to: z.string().nullable(),
    tz: z.string(),
  })
  .openapi("UsageSummary");

const SUMMARY_DESCRIPTION = [
  "`groupBy`: comma-separated (or repeated) `meter`, `subjectId`, one of `hour` / `day` / `week` (ISO, from Monday) / `month` / `quarter` (calendar quarters), and `dimension.<name>`.",
  "Time buckets are cut in `tz` (IANA, default UTC). Days, weeks, months and quarters are labelled with their first local date (`YYYY-MM-DD`: a quarter's is `YYYY-01-01`, `-04-01`, `-07-01` or `-10-01`), hours with their local hour (`YYYY-MM-DDTHH:00`).",
  "An hour bucket holds the instants whose wall clock reads that hour under one UTC offset: on a 23-hour day the skipped hour has no bucket; on a 25-hour day the repeated hour is two buckets, each labelled with its offset as well (`2026-11-01T01:00-04:00`, then `2026-11-01T01:00-05:00` in America/New_York), so labels are unique; no bucket is longer than an hour.",
  "At most 1000 buckets. With a time bucket or `compare` and no `from`, the last 30 days (the last 24 hours for `hour`), up to `to` or now.",
  "Filters as for history, including `dimension.<name>=<value>`. `total` is the sum of amounts (gauges: increments minus decrements), `count` the events, `subjects` the distinct subjects.",
  "`distinct=dimension.<name>`: each row gains `distinct`, the number of distinct values of that dimension among the row's events (events without the dimension add none; exact).",
  "`compare=previous`: each row gains `previousTotal`, its group's total over the range of the same length just before: [from − (to − from), from). A time-bucketed row's previous window is its own part of [from, to) moved back by exactly that length (to the millisecond, so across a DST change it is an hour off the local calendar); its label stays the current one. A group with events only in the previous range is a row too, with `total`, `count`, `subjects` (and `distinct`) 0.",
  "Rows come in group-key order: keys in `groupBy` order, time buckets chronologically, other keys by code point with missing values first. `sort=-total` (largest first) or `sort=total` orders by `total` instead, ties in group-key order. `limit` (1–1000) keeps the first rows of that order, with or without `sort`.",
  "Days older than the hot window (`HISTORY_HOT_DAYS`) are archived and summarised exactly all the same, from the rollups plus the archived events of what the rollups cannot answer; a summary that would decode more than 200,000 archived events, or count more than 8,000 of them (e.g. a dimension the rollups do not keep, or `includeVoided`, over a long archived range), answers 422 `HISTORY_ARCHIVED`: narrow the range.",
].join(" ");

const summaryRoute = createRoute({
  method: "get",
  path: "/v1/usage/summary",
  tags: ["reports"],
  summary: "Usage totals, grouped",
  description: SUMMARY_DESCRIPTION,
  security: requiresScope("usage:read", { users: true }),
  request: {
    query: queryParameters(
      {
        ...REPORT_QUERY,
        groupBy: repeatable(z.string().max(300), 6).optional(),
        tz: z.string().max(64).default("UTC"),
        distinct: z
          .string()
          .max(100)
          .refine((v) => v.startsWith(DISTINCT_PREFIX) && DimensionName.safeParse(v.slice(DISTINCT_PREFIX.length)).success, {
            message: "must be dimension.<name> (letters, digits and '_')",
          })
          .optional()
          .openapi({ description: "`dimension.<name>`: count that dimension's distinct values per row", example: "dimension.userId" }),
        compare: z.enum(SUMMARY_COMPARISONS).optional().openapi({ description: "Add each row's `previousTotal`" }),
        sort: z.enum(SUMMARY_SORTS).optional().openapi({ description: "Order rows by total, ascending or (`-total`) descending" }),
        limit: z.coerce.number().int().min(1).max(1000).optional().openapi({ description: "Keep the first rows (1–1000)" }),
      },
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
    const unit = groupBy.find(isBucketUnit);
    const ranged = unit !== undefined || q.compare !== undefined;
    const to = q.to === undefined ? (ranged ? Date.now() : undefined) : Date.parse(q.to);
    const from = q.from === undefined ? (ranged ? to! - defaultRangeMs(unit) : undefined) : Date.parse(q.from);
    const buckets = unit ? bucketsBetween(from!, to!, unit, q.tz) : null;
    if (unit && !buckets) throw invalidField("groupBy", `too many ${unit} buckets for the range (at most 1000)`);
    const distinct = q.distinct?.slice(DISTINCT_PREFIX.length);
    const query: SummaryQuery = {
      groupBy,
      subjectId: q.subjectId,
      meter: q.meter,
      from,
      to,
      dimensions: dimensionFilters(c),
      buckets,
      includeVoided: q.includeVoided,
      ...(distinct === undefined ? {} : { distinct }),
    };
    const rows = await summariseUsage(c.env, query, { compare: q.compare, sort: q.sort, limit: q.limit });
    return c.json(
      {
        data: rows.map((r) => ({
          ...r.keys,
          total: fromE4(r.totalE4),
          count: r.count,
          subjects: r.subjects,
          ...(distinct === undefined ? {} : { distinct: r.distinct ?? 0 }),
          ...(q.compare === undefined ? {} : { previousTotal: fromE4(r.previousTotalE4 ?? 0) }),
        })),
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
      isBucketUnit(key) ||
      (key.startsWith("dimension.") && DimensionName.safeParse(key.slice("dimension.".length)).success);
    if (!ok) throw invalidField("groupBy", `'${key}' is not meter, subjectId, ${BUCKET_UNITS.join(", ")} or dimension.<name>`);
  }
  if (keys.filter(isBucketUnit).length > 1) throw invalidField("groupBy", `at most one of ${BUCKET_UNITS.join(", ")}`);
  return keys as GroupKey[];
}
