import { firstArchivedDayIn, servingDays } from "../db/history-archive";
import { DomainError } from "../domain/errors";
import { isAfter, matchesFilter, mergePages, utcDay } from "../domain/history-archive";
import type { HistoryCursor, HistoryDay, HistoryFilter, HistoryMove, SummaryRow } from "../domain/history-queries";
import type { StoredEvent } from "../domain/stored-event";
import { DAY_MS, planSummary, ROLLUP_DIMENSIONS, type SummaryQuery } from "../domain/summary-plan";
import type { OffsetSegment } from "../domain/time-buckets";
import { type ArchiveBucket, readDayObject } from "./archive-objects";
import type { HistoryBatchResult, HistoryEntry } from "./history-batch";
import type { HistoryStore } from "./history-store";

/** Day objects kept decoded per store (a CSV export pages through one day many times). */
const CACHED_DAYS = 2;

/**
 * D1's hot window plus the R2 archive (src/history/history-archiver.ts). Listings and CSV read
 * archived days from their objects and merge them with D1's rows in history order, so a cursor
 * crosses the boundary unchanged. Summaries come from the rollups, which keep every day; one that
 * would need an archived day's individual events is refused (HISTORY_ARCHIVED). Recalculation's
 * counter days come from the rollups for archived days (src/db/history-days.ts), and gauge moves
 * are never archived. An archived event is not found by id (no index of ids is kept).
 */
export class TieredHistoryStore implements HistoryStore {
  private readonly decoded = new Map<string, StoredEvent[]>();

  constructor(
    private readonly hot: HistoryStore,
    private readonly d1: D1Database,
    private readonly archive: ArchiveBucket,
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
    const plan = planSummary(query);
    // What the summary reads from the events: the ragged edges, or the whole range.
    const raw = plan.source === "events" ? [{ from: Math.max(query.from ?? 0, 0), to: query.to ?? Number.MAX_SAFE_INTEGER }] : plan.edges;
    const days = raw.filter((r) => r.from < r.to).map((r): [number, number] => [utcDay(r.from), utcDay(r.to - 1) + 1]);
    const archived = await firstArchivedDayIn(this.d1, days, query.meter);
    if (archived !== null) {
      const day = new Date(archived * DAY_MS).toISOString().slice(0, 10);
      throw new DomainError(
        "HISTORY_ARCHIVED",
        `This summary needs individual events of ${day}, which is archived: only whole quarter-hours (whole UTC days when grouped by subject) of archived days are summarised, from the rollups, without a subject filter, includeVoided or dimensions other than ${ROLLUP_DIMENSIONS.join(", ")}.`,
        { archivedDay: day },
      );
    }
    return this.hot.summarise(query, offsets);
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
