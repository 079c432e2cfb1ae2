import { servingDays } from "../db/history-archive";
import { DomainError } from "../domain/errors";
import { type ArchivePart, isAfter, matchesFilter, mergePages, partAfter, partOverlaps, utcDay } from "../domain/history-archive";
import type { HistoryCursor, HistoryDay, HistoryFilter, HistoryMove, SummaryRow } from "../domain/history-queries";
import type { StoredEvent } from "../domain/stored-event";
import { DAY_MS, planSummary, type SummaryPlan, type SummaryQuery } from "../domain/summary-plan";
import { type ArchiveBucket, readPart } from "./archive-objects";
import type { D1HistoryStore } from "./d1-history-store";
import type { HistoryBatchResult, HistoryEntry } from "./history-batch";
import type { HistoryStore } from "./history-store";

/** Archive objects kept decoded per store (a CSV export pages through one part many times). */
const CACHED_PARTS = 2;

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
    /**
     * One summary decodes at most `decoded` archived events (whole objects, so bounded CPU and
     * memory), and counts at most `events` of them in SQL (one JSON parameter, under D1's 2 MB).
     */
    private readonly limits = { decoded: 200_000, events: 8_000 },
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
    const from = filter.from ?? 0;
    const to = filter.to ?? Number.MAX_SAFE_INTEGER;
    const archived: StoredEvent[] = [];
    // Parts in the listing's order; once `limit` events are found, later parts cannot come first.
    for (const { parts } of days) {
      for (const part of order === "newest" ? [...parts].reverse() : parts) {
        if (!partOverlaps(part, from, to) || !partAfter(part, after, order)) continue;
        const matching = (await this.partEvents(part)).filter((e) => matchesFilter(e, filter) && isAfter(e, after, order));
        archived.push(...(order === "newest" ? matching.reverse() : matching));
        if (archived.length >= limit) return mergePages(page, archived, limit, order);
      }
    }
    return archived.length === 0 ? page : mergePages(page, archived, limit, order);
  }

  find(id: string): Promise<StoredEvent | null> {
    return this.hot.find(id);
  }

  findLedgerEvents(ids: string[]): Promise<StoredEvent[]> {
    return this.hot.findLedgerEvents(ids);
  }

  async summarise(query: SummaryQuery): Promise<SummaryRow[]> {
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
    const ranges = rawRanges(query, plan);
    const parts = days.flatMap(({ parts }) => parts.filter((p) => ranges.some((r) => partOverlaps(p, r.from, r.to))));
    if (parts.length === 0) return this.hot.summariseWithArchived(query, plan, []);
    const decoded = parts.reduce((n, p) => n + p.events, 0);
    if (decoded > this.limits.decoded) throw archivedError(days[0]!.day, `${decoded} archived events (at most ${this.limits.decoded})`);
    const archived: StoredEvent[] = [];
    for (const part of parts) {
      for (const e of await this.partEvents(part)) {
        if (matchesFilter(e, query) && ranges.some((r) => e.occurredAt >= r.from && e.occurredAt < r.to)) archived.push(e);
      }
      if (archived.length > this.limits.events) {
        throw archivedError(days[0]!.day, `more than ${this.limits.events} archived events that the rollups cannot answer`);
      }
    }
    return this.hot.summariseWithArchived(query, plan, archived);
  }

  /** The archived days whose events a summary by this plan reads: those its raw ranges reach. */
  private async archivedDaysRead(query: SummaryQuery, plan: SummaryPlan): Promise<{ day: number; parts: ArchivePart[] }[]> {
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

  private async partEvents(part: ArchivePart): Promise<StoredEvent[]> {
    const cached = this.decoded.get(part.key);
    if (cached) return cached;
    const { events } = await readPart(this.archive, part.key);
    if (this.decoded.size >= CACHED_PARTS) this.decoded.delete(this.decoded.keys().next().value!);
    this.decoded.set(part.key, events);
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
    `This summary would read ${why} back from the archive (from ${label}); narrow the range, or align it to whole quarter-hours (whole UTC days for a subject or when grouped by subject), which the rollups answer.`,
    { archivedDay: label },
  );
}
