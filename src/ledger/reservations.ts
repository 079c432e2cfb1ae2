import type { MeterKind } from "../domain/event-rules";
import type { JsonValue, StoredEvent } from "../domain/stored-event";
import type { Reservation, ReservationQuery, ReservationStatus } from "./contract";

/** Committed, released and expired holds are kept this long for reads, then forgotten. */
export const RESOLVED_RESERVATION_RETENTION_MS = 40 * 24 * 60 * 60 * 1000;

type ReservationRow = {
  id: string;
  meter: string;
  unit: string;
  amount_e4: number;
  status: ReservationStatus;
  created_at: number;
  expires_at: number;
  resolved_at: number | null;
  committed_amount_e4: number | null;
  event_id: string | null;
  idempotency_key: string | null;
  fingerprint: string;
  kind: MeterKind;
  dimensions: string;
  metadata: string;
};

export type StoredReservation = Reservation & { fingerprint: string; kind: MeterKind };

/**
 * The subject's holds. A hold counts against its meter while it is `held` and not past
 * `expiresAt`; the alarm turns those past it into `expired` (and notifies), but nothing waits for
 * the alarm: a hold past its time stops counting at once.
 */
export class Reservations {
  constructor(
    private readonly sql: SqlStorage,
    private readonly subjectId: () => string | null,
  ) {}

  insert(r: StoredReservation): void {
    this.sql.exec(
      `INSERT INTO reservations (id, meter, unit, kind, amount_e4, status, created_at, expires_at, idempotency_key, fingerprint, dimensions, metadata)
       VALUES (?, ?, ?, ?, ?, 'held', ?, ?, ?, ?, ?, ?)`,
      r.id,
      r.meter,
      r.unit,
      r.kind,
      r.amountE4,
      r.createdAt,
      r.expiresAt,
      r.idempotencyKey,
      r.fingerprint,
      JSON.stringify(r.dimensions),
      JSON.stringify(r.metadata),
    );
  }

  find(id: string): StoredReservation | null {
    const row = this.sql.exec<ReservationRow>("SELECT * FROM reservations WHERE id = ?", id).toArray()[0];
    return row ? this.toReservation(row) : null;
  }

  byKey(key: string): StoredReservation | null {
    const row = this.sql.exec<ReservationRow>("SELECT * FROM reservations WHERE idempotency_key = ?", key).toArray()[0];
    return row ? this.toReservation(row) : null;
  }

  /** What live holds reserve on a meter at `nowMs`. */
  heldE4(meter: string, nowMs: number): number {
    return this.sql
      .exec<{ held: number }>(
        "SELECT coalesce(sum(amount_e4), 0) AS held FROM reservations WHERE status = 'held' AND meter = ? AND expires_at > ?",
        meter,
        nowMs,
      )
      .one().held;
  }

  /** Ends a hold: committed (with what was recorded), released or expired. */
  resolve(
    id: string,
    status: Exclude<ReservationStatus, "held">,
    atMs: number,
    commit?: { amountE4: number; event: StoredEvent | null },
  ): void {
    this.sql.exec(
      `UPDATE reservations SET status = ?, resolved_at = ?, committed_amount_e4 = ?, event_id = ?, event = ?
       WHERE id = ? AND status = 'held'`,
      status,
      atMs,
      commit?.amountE4 ?? null,
      commit?.event?.id ?? null,
      commit?.event ? JSON.stringify(commit.event) : null,
      id,
    );
  }

  /** Keeps the event a commit recorded: a copy, or only its id when the ledger no longer holds it (`copy` false). */
  setCommittedEvent(id: string, event: StoredEvent | null, copy = true): void {
    this.sql.exec(
      "UPDATE reservations SET event_id = ?, event = ? WHERE id = ?",
      event?.id ?? null,
      event && copy ? JSON.stringify(event) : null,
      id,
    );
  }

  /** The event a commit recorded, or its id alone when no copy was kept; null when it recorded none. */
  committedEvent(id: string): { eventId: string; event?: StoredEvent } | null {
    const row = this.sql
      .exec<{ event_id: string | null; event: string | null }>("SELECT event_id, event FROM reservations WHERE id = ?", id)
      .toArray()[0];
    if (!row?.event_id) return null;
    return { eventId: row.event_id, ...(row.event === null ? {} : { event: JSON.parse(row.event) as StoredEvent }) };
  }

  /** Holds still marked held whose time has come. */
  due(nowMs: number, limit = 500): StoredReservation[] {
    return this.sql
      .exec<ReservationRow>(
        "SELECT * FROM reservations WHERE status = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
        nowMs,
        limit,
      )
      .toArray()
      .map((r) => this.toReservation(r));
  }

  /** When the next live hold expires; null when none is held. */
  nextExpiry(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM reservations WHERE status = 'held'").one().at;
  }

  /** Newest first; a hold past its time is listed as expired even before the alarm marks it. */
  list(query: ReservationQuery, nowMs: number): Reservation[] {
    const before = query.before ?? { createdAt: Number.MAX_SAFE_INTEGER, id: "" };
    const rows = this.sql
      .exec<ReservationRow>(
        `SELECT * FROM (
           SELECT id, meter, unit, amount_e4, created_at, expires_at, resolved_at, committed_amount_e4, event_id, idempotency_key,
                  fingerprint, kind, dimensions, metadata, CASE WHEN status = 'held' AND expires_at <= ?5 THEN 'expired' ELSE status END AS status
           FROM reservations WHERE created_at < ?2 OR (created_at = ?2 AND id < ?3))
         WHERE ?1 IS NULL OR status = ?1
         ORDER BY created_at DESC, id DESC LIMIT ?4`,
        query.status,
        before.createdAt,
        before.id === "" ? "\uffff" : before.id,
        query.limit,
        nowMs,
      )
      .toArray();
    return rows.map((r) => publicReservation(this.toReservation(r), nowMs));
  }

  /** Forgets holds resolved before `beforeMs`. */
  purge(beforeMs: number): void {
    this.sql.exec("DELETE FROM reservations WHERE status != 'held' AND resolved_at < ?", beforeMs);
  }

  private toReservation(r: ReservationRow): StoredReservation {
    return {
      id: r.id,
      subjectId: this.subjectId() ?? "",
      meter: r.meter,
      unit: r.unit,
      amountE4: r.amount_e4,
      status: r.status,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      resolvedAt: r.resolved_at,
      committedAmountE4: r.committed_amount_e4,
      eventId: r.event_id,
      idempotencyKey: r.idempotency_key,
      fingerprint: r.fingerprint,
      kind: r.kind,
      dimensions: JSON.parse(r.dimensions) as Record<string, string>,
      metadata: JSON.parse(r.metadata) as Record<string, JsonValue>,
    };
  }
}

/** A stored hold without its request fingerprint; one still marked held past its time reads as expired. */
export function publicReservation({ fingerprint: _fingerprint, kind: _kind, ...r }: StoredReservation, nowMs?: number): Reservation {
  const pastItsTime = nowMs !== undefined && r.resolvedAt === null && r.expiresAt <= nowMs;
  if (pastItsTime && (r.status === "held" || r.status === "expired")) return { ...r, status: "expired", resolvedAt: r.expiresAt };
  return r;
}
