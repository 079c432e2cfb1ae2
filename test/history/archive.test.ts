import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { deleteDayCounterEvents } from "../../src/db/history-archive";
import { insertEventsStatement, voidEventsStatement } from "../../src/db/usage-events";
import type { StoredEvent } from "../../src/domain/stored-event";
import type { ArchiveBucket } from "../../src/history/archive-objects";
import { HistoryArchiver } from "../../src/history/history-archiver";
import { historyStore } from "../../src/history/history-store";
import worker from "../../src/index";
import { api, SERVICE_KEY } from "../helpers/api";

const DAY = 86_400_000;
const asOf = Date.now();
const today = Math.floor(asOf / DAY);
/** Three whole UTC days past the default hot window of 90 days, and one day inside it. */
const OLD = [today - 120, today - 119, today - 118];
const HOT = today - 5;
const dayIso = (day: number, ms = 0) => new Date(day * DAY + ms).toISOString();

const METERS = [
  { meter: "fax", unit: "page" },
  { meter: "api_call", unit: "call" },
  { meter: "storage", unit: "byte" },
] as const;
const SUBJECTS = ["arc-1", "arc-2", "arc-3"];
const seq = new Map<string, number>();

function event(i: number, day: number, ms: number): StoredEvent {
  const { meter, unit } = METERS[i % 3]!;
  const subjectId = SUBJECTS[(i * 7) % 3]!;
  const next = (seq.get(subjectId) ?? 0) + 1;
  seq.set(subjectId, next);
  const t = day * DAY + ms;
  return {
    id: `evt_arc_${String(i).padStart(4, "0")}`,
    seq: next,
    subjectId,
    meter,
    unit,
    amountE4: ((i * 37) % 90) * 1250 + 10_000,
    operation: meter === "storage" ? (["add", "add", "remove", "set"] as const)[i % 4]! : "add",
    occurredAt: t,
    receivedAt: t + 40,
    source: "test",
    idempotencyKey: i % 4 === 0 ? `arc-key-${i}` : null,
    dimensions: {
      ...(i % 5 === 0 ? {} : { schoolId: `S${i % 2}` }),
      ...(i % 3 === 0 ? { colour: i % 2 ? "red" : "blue" } : {}),
    },
    metadata: i % 6 === 0 ? { note: `n${i}`, nested: { k: [1, 2] } } : {},
  };
}

/** Events across each old day (both ends of the day included, several sharing one millisecond) and the hot day. */
const events: StoredEvent[] = [];
for (const [d, day] of [...OLD, HOT].entries()) {
  const times = [0, 1, 7 * 60_000, 3_600_000, 3_600_000, 3_600_000, 12 * 3_600_000 + 3, 18.5 * 3_600_000, DAY - 1];
  for (let k = 0; k < 40; k += 1) events.push(event(d * 100 + k, day, k < times.length ? times[k]! : (k * 2_654_435) % DAY));
}
const VOIDED = events.filter((_, i) => i % 11 === 3).map((e) => e.id);

async function seed(): Promise<void> {
  await insertEventsStatement(env.DB, JSON.stringify(events)).run();
  await voidEventsStatement(env.DB, JSON.stringify(VOIDED.map((id) => ({ id, voidedAt: asOf - 200 * DAY, reason: "test" })))).run();
}

const LIST_QUERIES = [
  "",
  "subjectId=arc-1",
  "meter=fax",
  "subjectId=arc-2&meter=api_call",
  "dimension.schoolId=S1",
  "dimension.colour=red",
  "includeVoided=true",
  "includeVoided=true&subjectId=arc-3",
  `from=${dayIso(OLD[0]!, 3_600_000)}&to=${dayIso(OLD[2]!, 12 * 3_600_000)}`,
  `from=${dayIso(OLD[1]!)}&meter=storage`,
  `to=${dayIso(OLD[1]!, 1)}&includeVoided=true`,
];

/** Every page of a listing, 7 events a page, following nextCursor. */
async function allPages(query: string): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: { data: unknown[]; nextCursor: string | null } } = await api(
      "GET",
      `/v1/usage?limit=7${query ? `&${query}` : ""}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    pages.push(res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor);
  return pages;
}

async function exportCsv(query: string): Promise<string> {
  const res = await exports.default.fetch(
    new Request(`http://tally.test/v1/usage/export.csv?dimensions=schoolId,colour${query ? `&${query}` : ""}`, {
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    }),
  );
  expect(res.status).toBe(200);
  return res.text();
}

async function listings(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const q of LIST_QUERIES) out[`list ${q}`] = await allPages(q);
  for (const q of LIST_QUERIES) out[`csv ${q}`] = await exportCsv(q);
  return out;
}

const range = (from: number, to: number) => `from=${dayIso(from)}&to=${dayIso(to)}`;
/** Summaries over archived days: from the rollups alone, or with archived events read back for what the rollups cannot answer. */
const SUMMARIES = [
  "groupBy=meter",
  "groupBy=subjectId,meter",
  `groupBy=day,meter&tz=UTC&${range(OLD[0]!, HOT + 1)}`,
  `groupBy=day&tz=Asia/Kolkata&${range(OLD[0]!, HOT + 1)}`,
  `groupBy=week,dimension.schoolId&tz=Asia/Kathmandu&${range(OLD[0]!, HOT + 1)}`,
  `groupBy=subjectId,dimension.schoolId&${range(OLD[0]!, OLD[2]! + 1)}`,
  `groupBy=meter&meter=fax&dimension.schoolId=S1&from=${dayIso(OLD[0]!, 3_600_000)}&to=${dayIso(OLD[1]!, 3_600_000 + 15 * 60_000)}`,
  // Gauge moves are never archived.
  `subjectId=arc-1&meter=storage&groupBy=day&from=${dayIso(OLD[0]!, 7)}&to=${dayIso(HOT + 1)}`,
  `subjectId=arc-2&groupBy=meter&from=${dayIso(HOT, 60_000)}&to=${dayIso(HOT + 1)}`,
  `groupBy=dimension.colour&from=${dayIso(HOT, 60_000)}`,
  // These read archived events back: a subject (its subject-day rollups, and edges inside a day),
  // edges inside a quarter-hour, a dimension the rollups do not keep, voided events, zones whose
  // days start inside a UTC day when grouped by subject.
  `subjectId=arc-1&${range(OLD[0]!, HOT + 1)}`,
  `subjectId=arc-3&groupBy=day,meter&tz=Asia/Kolkata&${range(OLD[0]!, HOT + 1)}`,
  `subjectId=arc-2&groupBy=meter&from=${dayIso(OLD[0]!, 3_600_000 + 1)}&to=${dayIso(OLD[2]!, 12 * 3_600_000 + 4)}`,
  `subjectId=arc-2&includeVoided=true&groupBy=meter&${range(OLD[0]!, HOT + 1)}`,
  `subjectId=arc-1&dimension.colour=red&groupBy=meter&${range(OLD[0]!, HOT + 1)}`,
  `groupBy=meter&from=${dayIso(OLD[1]!, 7 * 60_000)}&to=${dayIso(HOT + 1)}`,
  `groupBy=dimension.colour&${range(OLD[0]!, HOT + 1)}`,
  `groupBy=dimension.colour,subjectId&dimension.schoolId=S1&${range(OLD[0]!, HOT + 1)}`,
  `groupBy=meter&includeVoided=true&${range(OLD[0]!, HOT + 1)}`,
  `groupBy=subjectId&tz=Asia/Kolkata&groupBy=day&${range(OLD[0]!, HOT + 1)}`,
  `groupBy=subjectId&from=${dayIso(OLD[0]!, DAY - 2)}&to=${dayIso(OLD[1]!, 1)}`,
  `from=${dayIso(OLD[0]!, 3_600_000)}&to=${dayIso(OLD[0]!, 3_600_000 + 1)}`,
];

async function summaries(queries: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const q of queries) {
    const res = await api("GET", `/v1/usage/summary?${q}`);
    out[q] = { status: res.status, body: res.body };
  }
  return out;
}

async function recalculationInputs(): Promise<unknown> {
  const store = historyStore(env);
  return Promise.all(SUBJECTS.map(async (s) => [await store.counterDays(s, ["storage"], null), await store.gaugeMoves(s, ["storage"])]));
}

async function rawRows(day: number): Promise<{ meter: string; n: number }[]> {
  const { results } = await env.DB.prepare(
    "SELECT meter, count(*) AS n FROM usage_events WHERE occurred_at >= ? AND occurred_at < ? GROUP BY meter ORDER BY meter",
  )
    .bind(day * DAY, (day + 1) * DAY)
    .all<{ meter: string; n: number }>();
  return results;
}

async function manifest(): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare("SELECT * FROM history_archive_days ORDER BY day").all<Record<string, unknown>>();
  return results;
}

/** Parts of four events: a day's 27 counter events make seven objects, so reads cross parts as well as days. */
const archiver = (bucket: ArchiveBucket = env.HISTORY_ARCHIVE) => new HistoryArchiver(env.DB, bucket, Date.now, 4);

/** Runs the archive the way the queue chain does, step after step, until nothing is left. */
async function archiveAll(a = archiver(), hotDays?: string): Promise<(number | null)[]> {
  const days: (number | null)[] = [];
  for (let after: number | null = 0; after !== null; ) {
    const step = await a.archiveNext(asOf, hotDays, after);
    days.push(step.day);
    after = step.next;
  }
  return days;
}

/** A declared test double for the write step: the real local bucket, but objects lose their tail. */
function truncatingBucket(): ArchiveBucket {
  const real = env.HISTORY_ARCHIVE;
  return {
    get: (key, options?) => real.get(key, options),
    list: (options?) => real.list(options),
    delete: (keys) => real.delete(keys),
    put: async (key, value, options?) =>
      real.put(key, (value as Uint8Array).slice(0, Math.floor((value as Uint8Array).byteLength / 2)), options),
  } as ArchiveBucket;
}

describe("history archive", () => {
  let before: Record<string, unknown>;
  let summariesBefore: Record<string, unknown>;
  let recalculationBefore: unknown;
  const rawBefore = new Map<number, { meter: string; n: number }[]>();

  it("seeds old and hot history and takes its picture", async () => {
    await seed();
    before = await listings();
    summariesBefore = await summaries(SUMMARIES);
    for (const q of SUMMARIES) expect((summariesBefore[q] as { status: number }).status, q).toBe(200);
    recalculationBefore = await recalculationInputs();
    for (const day of [...OLD, HOT]) rawBefore.set(day, await rawRows(day));
    expect(rawBefore.get(OLD[0]!)!.length).toBe(3);
  });

  it("archives nothing while every day is inside the hot window, and refuses a window under 40 days", async () => {
    expect(await archiveAll(archiver(), "200")).toEqual([null]);
    const warn = vi.spyOn(console, "warn");
    // 30 falls back to the default 90, which leaves the old days due: checked below with a dry look.
    const step = await archiver().archiveNext(asOf, "30", today);
    expect(step.day).toBeNull();
    expect(warn.mock.calls.some(([line]) => String(line).includes("archive.hot_days_refused"))).toBe(true);
    warn.mockRestore();
    expect(await manifest()).toEqual([]);
  });

  it("keeps raw rows and does not mark the day archived when the written object is short", async () => {
    const error = vi.spyOn(console, "error");
    const outcome = await archiver(truncatingBucket()).archiveDay(OLD[0]!);
    expect(outcome.status).toBe("failed");
    expect(error.mock.calls.some(([line]) => String(line).includes("archive.day_failed"))).toBe(true);
    error.mockRestore();
    const [entry] = await manifest();
    expect(entry).toMatchObject({ day: OLD[0], state: "writing" });
    expect(String(entry!.last_error)).toContain("unreadable object");
    expect(await rawRows(OLD[0]!)).toEqual(rawBefore.get(OLD[0]!));
    expect(await listings()).toEqual(before);
  });

  it("loses nothing when a write dies after some of a day's objects", async () => {
    const real = env.HISTORY_ARCHIVE;
    let puts = 0;
    const dying = {
      get: (key, options?) => real.get(key, options),
      list: (options?) => real.list(options),
      delete: (keys) => real.delete(keys),
      put: async (key, value, options?) => {
        puts += 1;
        if (puts === 3) throw new Error("R2 went away");
        return real.put(key, value, options);
      },
    } as ArchiveBucket;
    await expect(archiver(dying).archiveDay(OLD[0]!)).rejects.toThrow("R2 went away");
    expect((await manifest())[0]).toMatchObject({ day: OLD[0], state: "writing" });
    expect(await rawRows(OLD[0]!)).toEqual(rawBefore.get(OLD[0]!));
    expect(await listings()).toEqual(before);
    // The two objects it left are the next attempt's to remove.
    expect((await real.list({ prefix: String((await manifest())[0]!.object_key) })).objects).toHaveLength(2);
  });

  it("refuses an object corrupted between writing and verifying, then writes it again on the next run", async () => {
    const a = archiver();
    await a.write(OLD[0]!);
    const [entry] = await manifest();
    // Well-formed gzip NDJSON, one event short and one amount changed: only the checks catch it.
    const key = `${entry!.object_key}part-00003.ndjson.gz`;
    const object = await env.HISTORY_ARCHIVE.get(key);
    const lines = (await new Response(object!.body.pipeThrough(new DecompressionStream("gzip"))).text()).trim().split("\n");
    const forged = lines.slice(1).map((l, i) => (i === 0 ? l.replace(/"amountE4":\d+/, '"amountE4":1') : l));
    const gz = await new Response(new Blob([`${forged.join("\n")}\n`]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
    await env.HISTORY_ARCHIVE.put(key, gz);
    const verified = await a.verify(OLD[0]!);
    expect(verified.ok).toBe(false);
    expect(!verified.ok && verified.error).toMatch(/raw .*rollups/);
    expect((await manifest())[0]).toMatchObject({ state: "writing" });
    expect(await rawRows(OLD[0]!)).toEqual(rawBefore.get(OLD[0]!));
    expect(await listings()).toEqual(before);
  });

  it("serves a verified day whose raw rows are not (or only partly) deleted yet, and finishes on the next run", async () => {
    const a = archiver();
    // A run that stopped after verifying: the object serves the day, the raw rows are all still there.
    await a.write(OLD[0]!);
    expect(await a.verify(OLD[0]!)).toEqual({ ok: true });
    expect((await manifest())[0]).toMatchObject({ state: "verified" });
    expect(await rawRows(OLD[0]!)).toEqual(rawBefore.get(OLD[0]!));
    expect(await listings()).toEqual(before);
    // …and one that stopped after the first delete statement.
    expect(await deleteDayCounterEvents(env.DB, OLD[0]!, 5, 1)).toEqual({ deleted: 5, more: true });
    expect(await listings()).toEqual(before);
    expect(await summaries(SUMMARIES)).toEqual(summariesBefore);
    const outcome = await a.archiveDay(OLD[0]!);
    expect(outcome).toMatchObject({ status: "archived", events: 27 });
    expect(await rawRows(OLD[0]!)).toEqual(rawBefore.get(OLD[0]!)!.filter((r) => r.meter === "storage"));
  });

  it("moves, verifies, deletes and serves back every due day: listings, CSV, summaries and recalculation unchanged", async () => {
    expect(await archiveAll()).toEqual([OLD[1], OLD[2], null]);
    const entries = await manifest();
    expect(entries.map((e) => [e.day, e.state])).toEqual(OLD.map((d) => [d, "deleted"]));
    for (const day of OLD) {
      expect(await rawRows(day)).toEqual(rawBefore.get(day)!.filter((r) => r.meter === "storage"));
    }
    expect(await rawRows(HOT)).toEqual(rawBefore.get(HOT));
    // Only the serving attempts' objects are left, each listed in the manifest.
    const listed = await env.HISTORY_ARCHIVE.list({ prefix: "archive/v1/" });
    const parts = entries.flatMap((e) => (JSON.parse(String(e.parts)) as { key: string }[]).map((p) => p.key));
    expect(parts).toHaveLength(7 + 7 + 7);
    expect(listed.objects.map((o) => o.key).sort()).toEqual(parts.sort());
    expect(parts[0]).toMatch(/^archive\/v1\/day=\d{4}-\d{2}-\d{2}\/[^/]+\/part-00000\.ndjson\.gz$/);

    expect(await listings()).toEqual(before);
    const after = await summaries(SUMMARIES);
    for (const q of SUMMARIES) expect(after[q], q).toEqual(summariesBefore[q]);
    expect(await recalculationInputs()).toEqual(recalculationBefore);
  });

  it("changes nothing when run again", async () => {
    const entries = await manifest();
    const objects = (await env.HISTORY_ARCHIVE.list({ prefix: "archive/v1/" })).objects.map((o) => [o.key, o.etag]);
    expect(await archiveAll()).toEqual([null]);
    expect(await manifest()).toEqual(entries);
    expect((await env.HISTORY_ARCHIVE.list({ prefix: "archive/v1/" })).objects.map((o) => [o.key, o.etag])).toEqual(objects);
    expect(await listings()).toEqual(before);
  });

  it("answers 404 for an archived event by id, and for its void", async () => {
    const archived = events.find((e) => e.occurredAt < (OLD[2]! + 1) * DAY && e.meter === "fax")!;
    expect((await api("GET", `/v1/usage/${archived.id}`)).status).toBe(404);
    expect((await api("POST", `/v1/usage/${archived.id}/void`, { body: {} })).status).toBe(404);
    const gauge = events.find((e) => e.occurredAt < (OLD[2]! + 1) * DAY && e.meter === "storage")!;
    expect((await api("GET", `/v1/usage/${gauge.id}`)).status).toBe(200);
  });

  it("runs from the daily cron through the queue, one day per task", async () => {
    const late = Array.from({ length: 12 }, (_, k) => event(900 + k, today - 100, k * 3_600_000));
    await insertEventsStatement(env.DB, JSON.stringify(late)).run();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "0 3 * * *", scheduledTime: asOf }), env, ctx);
    await waitOnExecutionContext(ctx);
    await expect
      .poll(async () => (await manifest()).find((e) => e.day === today - 100)?.state, { timeout: 20_000, interval: 200 })
      .toBe("deleted");
    const { results } = await env.DB.prepare(
      "SELECT count(*) AS n FROM usage_events WHERE occurred_at >= ? AND occurred_at < ? AND meter != 'storage'",
    )
      .bind((today - 100) * DAY, (today - 99) * DAY)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(0);
    const res = await api("GET", `/v1/usage?limit=100&from=${dayIso(today - 100)}&to=${dayIso(today - 99)}`);
    expect(res.body.data.map((e: { id: string }) => e.id)).toEqual(late.map((e) => e.id).reverse());
  });

  it("leaves a day in D1 while one of its events was received within the replay window", async () => {
    const day = today - 110;
    // A fax event (951 % 3 = 0), received 20 days ago for a day 110 days old, and an api_call one received at once.
    const late = { ...event(951, day, 3_600_000), receivedAt: asOf - 20 * DAY };
    await insertEventsStatement(env.DB, JSON.stringify([late, event(952, day, 7_200_000)])).run();
    const step = await archiver().archiveNext(asOf, undefined, day);
    expect(step).toMatchObject({ day, outcome: { status: "waiting" }, next: day + 1 });
    expect((await manifest()).find((e) => e.day === day)).toBeUndefined();
    // Three weeks later the replays are over.
    expect((await archiver().archiveNext(asOf + 23 * DAY, undefined, day)).outcome).toMatchObject({ status: "archived" });
  });
});
