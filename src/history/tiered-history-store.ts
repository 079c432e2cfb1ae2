import { servingDays } from "../db/history-archive";
import { DomainError } from "../domain/errors";
import { isAfter, matchesFilter, mergePages, utcDay } from "../domain/history-archive";
import type { HistoryCursor, HistoryDay, HistoryFilter, HistoryMove, SummaryRow } from "../domain/history-queries";
import type { StoredEvent } from "../domain/stored-event";
import { DAY_MS, planSummary, type SummaryPlan, type SummaryQuery } from "../domain/summary-plan";
import type { OffsetSegment } from "../domain/time-buckets";
import { type ArchiveBucket, readDayObject } from "./archive-objects";
import type { D1HistoryStore } from "./d1-history-store";
import type { HistoryBatchResult, HistoryEntry } from "./history-batch";
import type { HistoryStore } from "./history-store";

/** Day objects kept decoded per store (a CSV export pages through one day many times). */
const CACHED_DAYS = 2;

/**
 * D1's hot window plus the R2 archive (src/history/history-archiver.ts). Listings and CSV read
 * archived days from their objects and merge them with D1's rows in history order, so a cursor
 * crosses the boundary unchanged. Summaries come from the rollups, which keep every day, plus the
 * archived events of the ranges the rollups cannot answer (edges inside a quarter-hour or a day,
 * dimensions they do not keep, voided events), read back and counted in the same SQL as D1's; past
 * `limits` such a summary is refused (HISTORY_ARCHIVED) rather than read without bound. Recalculation's
 * counter days come from the rollups for archived days (src/db/history-days.ts), and gauge moves
 * are never archived. An archived event is not found by id (no index of ids is kept).
 */
export class TieredHistoryStore implements HistoryStore {
  private readonly decoded = new Map<string, StoredEvent[]>();

  constructor(
    private readonly hot: D1HistoryStore,
    private readonly d1: D1Database,
    private readonly archive: ArchiveBucket,
    /** At most this many archived days, and events of them, are read back for one summary. */
    private readonly limits = { days: 31, events: 8_000 },
  ) {}

  writeBatch(entries: HistoryEntry[]): Promise<HistoryBatchResult> {
    return this.hot.writeBatch(entries);
  }

  async list(filter: HistoryFilter, limit: number, after?: HistoryCursor, order: "newest" | "oldest" = "newest"): Promise<StoredEvent[]> {
    const page = await this.hot.list(filter, limit, after, order);
    // The archived days that can hold events of this page: in the filter's range, past the cursor,
    // and not past the hot page's last event when that page is full.
    let fromDay = filter.from === undefined ? 0 : utcDay(filter.from);
    let toDay = filter.to === undefined ? Number.MAX_SAFE_INTEGER : utcDay(filter.to - 1) + 1;
    const bounds = [after, page.length === limit ? page[page.length - 1] : undefined];
    for (const [i, bound] of bounds.entries()) {
      if (bound === undefined) continue;
      // The cursor bounds from the side the listing comes from; a full page from the side it goes to.
      if ((order === "newest") === (i === 0)) toDay = Math.min(toDay, utcDay(bound.occurredAt) + 1);
      else fromDay = Math.max(fromDay, utcDay(bound.occurredAt));
    }
    if (fromDay >= toDay) return page;
    const days = await servingDays(this.d1, fromDay, toDay, order, {
      ...(filter.subjectId === undefined ? {} : { subjectId: filter.subjectId }),
      ...(filter.meter === undefined ? {} : { meter: filter.meter }),
      standingOnly: filter.includeVoided !== true,
    });
    const archived: StoredEvent[] = [];
    for (const { objectKey } of days) {
      const matching = (await this.dayEvents(objectKey)).filter((e) => matchesFilter(e, filter) && isAfter(e, after, order));
      archived.push(...(order === "newest" ? matching.reverse() : matching));
      if (archived.length >= limit) break;
    }
    return archived.length === 0 ? page : mergePages(page, archived, limit, order);
  }

  find(id: string): Promise<StoredEvent | null> {
    return this.hot.find(id);
  }

  findLedgerEvents(ids: string[]): Promise<StoredEvent[]> {
    return this.hot.findLedgerEvents(ids);
  }

  async summarise(query: SummaryQuery, offsets: OffsetSegment[] | null): Promise<SummaryRow[]> {
    let plan = planSummary(query);
    let days = await this.archivedDaysRead(query, plan);
    // A subject's summary reads its events; once some are archived, its subject-day rollups answer
    // whole UTC days instead, and only the edges inside a day are read back.
    if (days.length > 0 && plan.source === "events" && query.subjectId !== undefined) {
      const byDays = planSummary(query, { subjectRollups: true });
      if (byDays.source === "rollups") {
        plan = byDays;
        days = await this.archivedDaysRead(query, plan);
      }
    }
    if (days.length === 0) return this.hot.summariseWithArchived(query, offsets, plan, []);
    if (days.length > this.limits.days) throw archivedError(days[0]!.day, `more than ${this.limits.days} archived days`);
    const ranges = rawRanges(query, plan);
    const archived: StoredEvent[] = [];
    for (const { objectKey } of days) {
      for (const e of await this.dayEvents(objectKey)) {
        if (matchesFilter(e, query) && ranges.some((r) => e.occurredAt >= r.from && e.occurredAt < r.to)) archived.push(e);
      }
      if (archived.length > this.limits.events) throw archivedError(days[0]!.day, `more than ${this.limits.events} archived events`);
    }
    return this.hot.summariseWithArchived(query, offsets, plan, archived);
  }

  /** The archived days whose events a summary by this plan reads: those its raw ranges reach. */
  private async archivedDaysRead(query: SummaryQuery, plan: SummaryPlan): Promise<{ day: number; objectKey: string }[]> {
    const ranges = rawRanges(query, plan).map((r) => ({ from: utcDay(r.from), to: utcDay(r.to - 1) + 1 }));
    if (ranges.length === 0) return [];
    const days = await servingDays(this.d1, Math.min(...ranges.map((r) => r.from)), Math.max(...ranges.map((r) => r.to)), "oldest", {
      ...(query.subjectId === undefined ? {} : { subjectId: query.subjectId }),
      ...(query.meter === undefined ? {} : { meter: query.meter }),
      standingOnly: query.includeVoided !== true,
    });
    return days.filter((d) => ranges.some((r) => d.day >= r.from && d.day < r.to));
  }

  counterDays(subjectId: string, gaugeMeters: string[], fromDay: number | null): Promise<HistoryDay[]> {
    return this.hot.counterDays(subjectId, gaugeMeters, fromDay);
  }

  gaugeMoves(subjectId: string, gaugeMeters: string[]): Promise<HistoryMove[]> {
    return this.hot.gaugeMoves(subjectId, gaugeMeters);
  }

  private async dayEvents(objectKey: string): Promise<StoredEvent[]> {
    const cached = this.decoded.get(objectKey);
    if (cached) return cached;
    const { events } = await readDayObject(this.archive, objectKey);
    if (this.decoded.size >= CACHED_DAYS) this.decoded.delete(this.decoded.keys().next().value!);
    this.decoded.set(objectKey, events);
    return events;
  }
}

/** The parts of a summary's range read from the events: the ragged edges, or the whole range. */
function rawRanges(query: SummaryQuery, plan: SummaryPlan): { from: number; to: number }[] {
  const ranges = plan.source === "events" ? [{ from: Math.max(query.from ?? 0, 0), to: query.to ?? Number.MAX_SAFE_INTEGER }] : plan.edges;
  return ranges.filter((r) => r.from < r.to);
}

function archivedError(day: number, why: string): DomainError {
  const label = new Date(day * DAY_MS).toISOString().slice(0, 10);
  return new DomainError(
    "HISTORY_ARCHIVED",
    `This summary would read ${why} (from ${label}) back from the archive; narrow the range, or align it to whole quarter-hours (whole UTC days for a subject or when grouped by subject), which the rollups answer.`,
    { archivedDay: label },
  );
}
