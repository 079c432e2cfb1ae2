import type { GrantDraw, JsonValue } from "../domain/stored-event";
import type { UsageWindow } from "../domain/usage-window";
import type { Grant, GrantQuery, GrantSource } from "./contract";

type GrantRow = {
  id: string;
  meter: string;
  amount_e4: number;
  remaining_e4: number;
  priority: number;
  effective_at: number;
  expires_at: number | null;
  voided_at: number | null;
  created_at: number;
  source: GrantSource;
  idempotency_key: string | null;
  fingerprint: string;
  metadata: string;
};

export type StoredGrant = Grant & { fingerprint: string };

/** The order grants are drawn in: priority (lower first), then the earliest expiry (none last), then the oldest. */
const DRAW_ORDER = "priority, expires_at IS NULL, expires_at, created_at, rowid";
const LIVE_AT = "voided_at IS NULL AND effective_at <= ?2 AND (expires_at IS NULL OR expires_at > ?2)";

/**
 * The subject's prepaid grants and what each event drew from them. Usage draws the period
 * allowance first (less what live holds set aside in it); what goes past it draws the grants live
 * at the event's own time, in `DRAW_ORDER`. A draw is settled when the usage is counted: voiding
 * the event gives exactly its draws back; later changes of limits or late events do not move
 * earlier draws. A hold that goes past the allowance sets grant balance aside at once (a draw
 * owned by the reservation), so a grant that expires or is voided meanwhile cannot leave its
 * commit short; the commit settles on it, a release or expiry gives it back.
 */
export class Grants {
  constructor(
    private readonly sql: SqlStorage,
    private readonly subjectId: () => string | null,
  ) {}

  /** `originKey` keeps a grant once per key: the API's idempotency key, or the plan's period it was given for. */
  insert(g: StoredGrant, originKey: string | null): void {
    this.sql.exec(
      `INSERT INTO grants (id, meter, amount_e4, remaining_e4, priority, effective_at, expires_at, created_at, source, origin_key,
         idempotency_key, fingerprint, metadata)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      g.id,
      g.meter,
      g.amountE4,
      g.amountE4,
      g.priority,
      g.effectiveAt,
      g.expiresAt,
      g.createdAt,
      g.source,
      originKey,
      g.idempotencyKey,
      g.fingerprint,
      JSON.stringify(g.metadata),
    );
  }

  find(id: string): StoredGrant | null {
    const row = this.sql.exec<GrantRow>("SELECT * FROM grants WHERE id = ?", id).toArray()[0];
    return row ? this.toGrant(row) : null;
  }

  byOrigin(originKey: string): StoredGrant | null {
    const row = this.sql.exec<GrantRow>("SELECT * FROM grants WHERE origin_key = ?", originKey).toArray()[0];
    return row ? this.toGrant(row) : null;
  }

  /** Whether any grant of the meter still has something to give (now or later): the fast path skips drawing. */
  anyLeft(meter: string): boolean {
    return (
      this.sql.exec("SELECT 1 FROM grants WHERE meter = ? AND remaining_e4 > 0 AND voided_at IS NULL LIMIT 1", meter).toArray().length > 0
    );
  }

  /** What grants live at `atMs` still hold for the meter. */
  balanceE4(meter: string, atMs: number): number {
    return this.sql
      .exec<{ n: number }>(`SELECT coalesce(sum(remaining_e4), 0) AS n FROM grants WHERE meter = ?1 AND ${LIVE_AT}`, meter, atMs)
      .one().n;
  }

  /**
   * What was drawn from grants in the window (any grant, even one expired or voided since): by
   * events, and by live holds for the balance they set aside, unless `eventsOnly`.
   */
  drawnE4(meter: string, window: UsageWindow, eventsOnly = false): number {
    const owners = eventsOnly ? "AND substr(event_id, 1, 4) != 'rsv_'" : "";
    if (window.kind === "all-time") {
      return this.sql.exec<{ n: number }>(`SELECT coalesce(sum(amount_e4), 0) AS n FROM grant_draws WHERE meter = ? ${owners}`, meter).one()
        .n;
    }
    return this.sql
      .exec<{ n: number }>(
        `SELECT coalesce(sum(amount_e4), 0) AS n FROM grant_draws WHERE meter = ? AND occurred_at >= ? AND occurred_at < ? ${owners}`,
        meter,
        window.start,
        window.end,
      )
      .one().n;
  }

  /**
   * Draws up to `amountE4` for an event (or a hold: `ownerId` is then its reservation id) from the
   * grants live at `atMs`, in draw order; answers the draws and the grants it used up.
   */
  draw(ownerId: string, meter: string, atMs: number, amountE4: number): { draws: GrantDraw[]; depleted: StoredGrant[] } {
    const draws: GrantDraw[] = [];
    const depleted: StoredGrant[] = [];
    let left = amountE4;
    if (left <= 0) return { draws, depleted };
    const live = this.sql
      .exec<GrantRow>(`SELECT * FROM grants WHERE meter = ?1 AND remaining_e4 > 0 AND ${LIVE_AT} ORDER BY ${DRAW_ORDER}`, meter, atMs)
      .toArray();
    for (const row of live) {
      if (left <= 0) break;
      const take = Math.min(left, row.remaining_e4);
      this.sql.exec("UPDATE grants SET remaining_e4 = remaining_e4 - ? WHERE id = ?", take, row.id);
      this.addDraw(ownerId, row.id, meter, atMs, take);
      draws.push({ grantId: row.id, amountE4: take });
      if (take === row.remaining_e4) depleted.push(this.toGrant({ ...row, remaining_e4: 0 }));
      left -= take;
    }
    return { draws, depleted };
  }

  /**
   * Settles a committed hold's event: what it takes past the allowance comes first from the
   * grant balance the hold set aside (`locked`, whatever became of those grants since), then
   * from grants live at its time; what the hold set aside and the event did not need goes back.
   */
  settle(
    eventId: string,
    meter: string,
    atMs: number,
    amountE4: number,
    locked: GrantDraw[],
  ): { draws: GrantDraw[]; depleted: StoredGrant[] } {
    const taken = new Map<string, number>();
    let left = Math.max(0, amountE4);
    for (const lock of locked) {
      const take = Math.min(left, lock.amountE4);
      if (take > 0) {
        this.addDraw(eventId, lock.grantId, meter, atMs, take);
        taken.set(lock.grantId, (taken.get(lock.grantId) ?? 0) + take);
      }
      if (lock.amountE4 > take)
        this.sql.exec("UPDATE grants SET remaining_e4 = remaining_e4 + ? WHERE id = ?", lock.amountE4 - take, lock.grantId);
      left -= take;
    }
    const fresh = this.draw(eventId, meter, atMs, left);
    for (const d of fresh.draws) taken.set(d.grantId, (taken.get(d.grantId) ?? 0) + d.amountE4);
    return { draws: [...taken].map(([grantId, e4]) => ({ grantId, amountE4: e4 })), depleted: fresh.depleted };
  }

  /** Takes the draws a hold made (the grant balance it set aside) off the books, without giving them back. */
  takeLocks(reservationId: string): GrantDraw[] {
    const locks = this.sql
      .exec<{ grant_id: string; amount_e4: number }>(
        "SELECT grant_id, amount_e4 FROM grant_draws WHERE event_id = ? ORDER BY rowid",
        reservationId,
      )
      .toArray()
      .map((d) => ({ grantId: d.grant_id, amountE4: d.amount_e4 }));
    this.sql.exec("DELETE FROM grant_draws WHERE event_id = ?", reservationId);
    return locks;
  }

  private addDraw(ownerId: string, grantId: string, meter: string, atMs: number, amountE4: number): void {
    this.sql.exec(
      `INSERT INTO grant_draws (event_id, grant_id, meter, occurred_at, amount_e4) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (event_id, grant_id) DO UPDATE SET amount_e4 = amount_e4 + excluded.amount_e4`,
      ownerId,
      grantId,
      meter,
      atMs,
      amountE4,
    );
  }

  /** Gives the draws of a voided event (or of a hold that ended without a commit) back to their grants. */
  refund(eventId: string): number {
    let refunded = 0;
    for (const d of this.sql.exec<{ grant_id: string; amount_e4: number }>(
      "DELETE FROM grant_draws WHERE event_id = ? RETURNING grant_id, amount_e4",
      eventId,
    )) {
      this.sql.exec("UPDATE grants SET remaining_e4 = remaining_e4 + ? WHERE id = ?", d.amount_e4, d.grant_id);
      refunded += d.amount_e4;
    }
    return refunded;
  }

  /** Takes a grant out of use from now; what it gave stays given. */
  void(id: string, nowMs: number): void {
    this.sql.exec("UPDATE grants SET voided_at = ? WHERE id = ? AND voided_at IS NULL", nowMs, id);
  }

  /** In draw order; only those live at `nowMs` (or yet to start) with something left, unless asked for all. */
  list(query: GrantQuery, nowMs: number): Grant[] {
    const rows = this.sql
      .exec<GrantRow>(
        `SELECT * FROM grants WHERE (?1 IS NULL OR meter = ?1)
           AND (?3 OR (voided_at IS NULL AND remaining_e4 > 0 AND (expires_at IS NULL OR expires_at > ?2)))
         ORDER BY meter, ${DRAW_ORDER}`,
        query.meter,
        nowMs,
        query.includeInactive ? 1 : 0,
      )
      .toArray();
    return rows.map((r) => publicGrant(this.toGrant(r)));
  }

  private toGrant(r: GrantRow): StoredGrant {
    return {
      id: r.id,
      subjectId: this.subjectId() ?? "",
      meter: r.meter,
      amountE4: r.amount_e4,
      remainingE4: r.remaining_e4,
      priority: r.priority,
      effectiveAt: r.effective_at,
      expiresAt: r.expires_at,
      voidedAt: r.voided_at,
      createdAt: r.created_at,
      source: r.source,
      idempotencyKey: r.idempotency_key,
      fingerprint: r.fingerprint,
      metadata: JSON.parse(r.metadata) as Record<string, JsonValue>,
    };
  }
}

export function publicGrant({ fingerprint: _fingerprint, ...g }: StoredGrant): Grant {
  return g;
}
