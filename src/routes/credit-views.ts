import { z } from "@hono/zod-openapi";
import { fromE4 } from "../domain/amount";
import { grantStatus } from "../domain/credits";
import type { Grant, Reservation } from "../ledger/contract";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const ReservationSchema = z
  .object({
    id: z.string(),
    subjectId: z.string(),
    meter: z.string(),
    unit: z.string(),
    amount: z.number(),
    status: z.enum(["held", "committed", "released", "expired"]),
    createdAt: z.string().openapi({ format: "date-time" }),
    expiresAt: z.string().openapi({ format: "date-time" }),
    resolvedAt: z.string().nullable().openapi({ format: "date-time" }),
    committedAmount: z.number().nullable(),
    eventId: z.string().nullable(),
    idempotencyKey: z.string().nullable(),
    dimensions: z.record(z.string(), z.string()),
    metadata: z.record(z.string(), z.unknown()),
  })
  .openapi("Reservation");

/** A hold as the API answers it. */
export function toPublicReservation(r: Reservation) {
  return {
    id: r.id,
    subjectId: r.subjectId,
    meter: r.meter,
    unit: r.unit,
    amount: fromE4(r.amountE4),
    status: r.status,
    createdAt: iso(r.createdAt)!,
    expiresAt: iso(r.expiresAt)!,
    resolvedAt: iso(r.resolvedAt),
    committedAmount: r.committedAmountE4 === null ? null : fromE4(r.committedAmountE4),
    eventId: r.eventId,
    idempotencyKey: r.idempotencyKey,
    dimensions: r.dimensions,
    metadata: r.metadata,
  };
}

export const GrantSchema = z
  .object({
    id: z.string(),
    subjectId: z.string(),
    meter: z.string(),
    amount: z.number(),
    remaining: z.number(),
    priority: z.number().int().openapi({ description: "Lower is drawn first" }),
    effectiveAt: z.string().openapi({ format: "date-time" }),
    expiresAt: z.string().nullable().openapi({ format: "date-time", description: "Null: never expires" }),
    voidedAt: z.string().nullable().openapi({ format: "date-time" }),
    createdAt: z.string().openapi({ format: "date-time" }),
    source: z.enum(["api", "plan", "rollover"]),
    idempotencyKey: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    status: z.enum(["active", "scheduled", "expired", "depleted", "voided"]).openapi({
      description:
        "Derived when answered: voided, else depleted (nothing left), else expired, else scheduled (not yet effective), else active",
    }),
  })
  .openapi("Grant");

/** A grant as the API answers it, its status as of `nowMs`. */
export function toPublicGrant(g: Grant, nowMs: number) {
  return {
    id: g.id,
    subjectId: g.subjectId,
    meter: g.meter,
    amount: fromE4(g.amountE4),
    remaining: fromE4(g.remainingE4),
    priority: g.priority,
    effectiveAt: iso(g.effectiveAt)!,
    expiresAt: iso(g.expiresAt),
    voidedAt: iso(g.voidedAt),
    createdAt: iso(g.createdAt)!,
    source: g.source,
    idempotencyKey: g.idempotencyKey,
    metadata: g.metadata,
    status: grantStatus(g, nowMs),
  };
}
