import { z } from "@hono/zod-openapi";
import { fromE4 } from "../domain/amount";
import type { Reservation } from "../ledger/contract";

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
