import {
  archiveDay,
  dayCounterEvents,
  deleteDayCounterEvents,
  markDeleted,
  markVerified,
  markWriting,
  newestCounterReceipt,
  oldestCounterEvent,
  rawDayChecksum,
  recordArchiveError,
  rollupDayChecksum,
} from "../db/history-archive";
import {
  addToChecksum,
  type ArchivePart,
  archivePrefix,
  checksumDifferences,
  compareEvents,
  type DayChecksum,
  firstHotDay,
  hotDays,
  REPLAY_WINDOW_MS,
  utcDay,
} from "../domain/history-archive";
import type { StoredEvent } from "../domain/stored-event";
import { DAY_MS } from "../domain/summary-plan";
import { log } from "../http/log";
import { type ArchiveBucket, deletePrefix, listKeys, readPart, writeDayParts } from "./archive-objects";

/**
 * Rows per read of a day's raw events; events per archive object (a few MB decoded: what a reader
 * holds at once); rows per delete statement and delete statements per run.
 */
const READ_PAGE = 5_000;
const PART_EVENTS = 10_000;
const DELETE_ROWS = 5_000;
const DELETE_STATEMENTS = 100;

export type DayOutcome =
  | { status: "archived"; events: number; bytes: number; deleted: number }
  /** Verified, raw rows partly deleted: the next run carries on with the same day. */
  | { status: "deleting"; deleted: number }
  /** An event of the day was received too recently for its idempotent replays to be done: left for a later night. */
  | { status: "waiting"; newestReceipt: number }
  | { status: "failed"; error: string };

export interface ArchiveStep {
  /** The day archived (or tried), null when no day was due. */
  day: number | null;
  outcome?: DayOutcome;
  /** The day the next run starts looking from, null when nothing is left. */
  next: number | null;
}

/**
 * Moves raw counter events of UTC days older than the hot window to R2, one day at a time: write
 * the objects (manifest `writing`), read them back and check them against the raw rows and the
 * rollups (`verified`: the objects now serve the day), then delete the raw rows in bounded
 * statements (`deleted`). A day is due once it is wholly older than the hot window and its newest
 * counter event was received more than REPLAY_WINDOW_MS ago. Every step can be interrupted and
 * run again: a `writing` day is written again from its untouched raw rows; a `verified` day is
 * checked again and its deletion resumed. Gauge moves are never archived (recalculation replays
 * all of them).
 */
export class HistoryArchiver {
  constructor(
    private readonly d1: D1Database,
    private readonly bucket: ArchiveBucket,
    private readonly now: () => number = Date.now,
    private readonly partEvents = PART_EVENTS,
  ) {}

  /** Archives the oldest due day from `afterDay` on, if any. */
  async archiveNext(asOf: number, hotDaysSetting: string | undefined, afterDay: number): Promise<ArchiveStep> {
    const hot = hotDays(hotDaysSetting);
    if (hot.refused !== undefined) log("warn", "archive.hot_days_refused", { value: hot.refused, using: hot.days });
    const first = await oldestCounterEvent(this.d1, afterDay * DAY_MS, firstHotDay(asOf, hot.days) * DAY_MS);
    if (first === null) return { day: null, next: null };
    const day = utcDay(first);
    const newestReceipt = await newestCounterReceipt(this.d1, day);
    if (newestReceipt !== null && newestReceipt > asOf - REPLAY_WINDOW_MS && (await archiveDay(this.d1, day))?.state !== "verified") {
      log("info", "archive.day_waiting", { day: dayLabel(day), newestReceipt: new Date(newestReceipt).toISOString() });
      return { day, outcome: { status: "waiting", newestReceipt }, next: day + 1 };
    }
    const outcome = await this.archiveDay(day);
    return { day, outcome, next: outcome.status === "deleting" ? day : day + 1 };
  }

  async archiveDay(day: number): Promise<DayOutcome> {
    const entry = await archiveDay(this.d1, day);
    let outcome: DayOutcome;
    if (entry?.state === "deleted") {
      // Raw counter rows where the archive already holds the day: imported after it was archived.
      // Writing the object again would lose the archived ones; an operator must look.
      outcome = { status: "failed", error: "raw counter events found for a day already archived and deleted" };
    } else {
      if (entry?.state !== "verified") await this.write(day);
      const verified = await this.verify(day);
      outcome = verified.ok ? await this.deleteRaw(day) : { status: "failed", error: verified.error };
    }
    if (outcome.status === "failed") {
      await recordArchiveError(this.d1, day, outcome.error);
      log("error", "archive.day_failed", { day: dayLabel(day), error: outcome.error });
    } else {
      log("info", "archive.day", { day: dayLabel(day), ...outcome });
    }
    return outcome;
  }

  /**
   * Step 1: the day's raw counter events into fresh objects; the manifest says `writing` until
   * verified. Null when the day's archive already serves reads (another run got there first).
   */
  async write(day: number): Promise<ArchivePart[] | null> {
    const prefix = archivePrefix(day, `${this.now()}-${crypto.randomUUID().slice(0, 8)}`);
    const replaced = await markWriting(this.d1, day, prefix, this.now());
    if (replaced === false) return null;
    // The attempt this one replaces never served reads: its objects (if any got written) can go.
    if (replaced !== null) await deletePrefix(this.bucket, replaced);
    return writeDayParts(this.bucket, prefix, this.pages(day), this.partEvents, { day: dayLabel(day) });
  }

  /**
   * Step 2: the objects read back must hold, per meter, what the raw rows hold (while they are all
   * there) or what the manifest recorded when they were (once deletion began), and what the
   * rollups hold; each event of the day once, in history order across the parts. Marks the day
   * verified, with its parts as read.
   */
  async verify(day: number): Promise<{ ok: true } | { ok: false; error: string }> {
    const entry = await archiveDay(this.d1, day);
    if (entry === null) return { ok: false, error: "no manifest entry" };
    const keys = entry.state === "writing" ? await listKeys(this.bucket, entry.objectKey) : entry.parts.map((p) => p.key);
    const inObjects: DayChecksum = {};
    const parts: ArchivePart[] = [];
    let previous: StoredEvent | undefined;
    let events = 0;
    let bytes = 0;
    for (const key of keys) {
      let read: { events: StoredEvent[]; bytes: number };
      try {
        read = await readPart(this.bucket, key);
      } catch (error) {
        return { ok: false, error: `unreadable object: ${String(error)}` };
      }
      if (read.events.length === 0) return { ok: false, error: `empty object ${key}` };
      for (const e of read.events) {
        if (utcDay(e.occurredAt) !== day) return { ok: false, error: `event ${e.id} is not of this day` };
        if (previous !== undefined && compareEvents(previous, e) >= 0) return { ok: false, error: `event ${e.id} out of order` };
        addToChecksum(inObjects, e);
        previous = e;
      }
      const first = read.events[0]!;
      parts.push({
        key,
        events: read.events.length,
        first: { occurredAt: first.occurredAt, id: first.id },
        last: { occurredAt: previous!.occurredAt, id: previous!.id },
      });
      events += read.events.length;
      bytes += read.bytes;
    }
    if (entry.state !== "writing" && JSON.stringify(parts) !== JSON.stringify(entry.parts))
      return { ok: false, error: "parts differ from the manifest" };
    const expected = entry.state === "writing" ? await rawDayChecksum(this.d1, day) : entry.checksum;
    const differences = [
      ...checksumDifferences(inObjects, expected, ["events", "standing", "netE4"]).map(
        (d) => `${entry.state === "writing" ? "raw" : "manifest"} ${d}`,
      ),
      ...checksumDifferences(inObjects, await rollupDayChecksum(this.d1, day), ["standing", "netE4"]).map((d) => `rollups ${d}`),
    ];
    if (differences.length > 0) return { ok: false, error: `archive ≠ ${differences.join("; ")}` };
    if (entry.state === "writing" && !(await markVerified(this.d1, day, entry.objectKey, events, bytes, inObjects, parts, this.now()))) {
      return { ok: false, error: "another run replaced this attempt" };
    }
    return { ok: true };
  }

  /** Step 3: the verified day's raw counter rows, deleted in bounded statements; `deleted` once none remain. */
  async deleteRaw(day: number): Promise<DayOutcome> {
    const { deleted, more } = await deleteDayCounterEvents(this.d1, day, DELETE_ROWS, DELETE_STATEMENTS);
    if (more) return { status: "deleting", deleted };
    await markDeleted(this.d1, day, this.now());
    const entry = await archiveDay(this.d1, day);
    return { status: "archived", events: entry?.events ?? 0, bytes: entry?.bytes ?? 0, deleted };
  }

  private async *pages(day: number): AsyncIterable<StoredEvent[]> {
    let after: StoredEvent | undefined;
    for (;;) {
      const page = await dayCounterEvents(this.d1, day, READ_PAGE, after);
      yield page;
      if (page.length < READ_PAGE) return;
      after = page[page.length - 1];
    }
  }
}

function dayLabel(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The archiver of this deployment's D1 history and its R2 bucket. */
export function historyArchiver(env: Pick<Env, "DB" | "HISTORY_ARCHIVE">): HistoryArchiver {
  return new HistoryArchiver(env.DB, env.HISTORY_ARCHIVE);
}
