import type { z } from "zod";
import type { PlanInput, SubjectInput } from "../domain/entitlements";
import type { ConsumedSchema, ConsumeInput, DecisionSchema, EntitlementRowSchema } from "../routes/entitlements";
import type { FeatureRowSchema } from "../routes/features";
import type { GaugeMovedSchema } from "../routes/gauges";
import type { GrantSchema, ReservationSchema } from "../routes/credit-views";
import type { CreateGrantInput } from "../routes/grants";
import type { MeterSchema } from "../routes/meters";
import type { PlanSchema } from "../routes/plans";
import type { UsageSummarySchema } from "../routes/reports";
import type { CommittedSchema, ReleasedSchema, ReservationPageSchema, ReservedSchema, ReserveInput } from "../routes/reservations";
import type { EventInputSchema, EventSchema } from "../routes/schemas";
import type { SubjectSchema } from "../routes/subjects";
import type { HistoryPageSchema } from "../routes/usage-read";
import type { BatchResultSchema, RecordedSchema } from "../routes/usage-write";

/** Request and response types, inferred from the very schemas the server validates with. */
export type UsageEventInput = z.input<typeof EventInputSchema>;
export type UsageEvent = z.infer<typeof EventSchema>;
export type Recorded = z.infer<typeof RecordedSchema>;
export type BatchResult = z.infer<typeof BatchResultSchema>;
export type HistoryPage = z.infer<typeof HistoryPageSchema>;
export type UsageSummary = z.infer<typeof UsageSummarySchema>;
export type EntitlementRow = z.infer<typeof EntitlementRowSchema>;
export type FeatureRow = z.infer<typeof FeatureRowSchema>;
export type Decision = z.infer<typeof DecisionSchema>;
export type ConsumeRequest = z.input<typeof ConsumeInput>;
export type Consumed = z.infer<typeof ConsumedSchema>;
export type GaugeMoved = z.infer<typeof GaugeMovedSchema>;
export type Meter = z.infer<typeof MeterSchema>;
export type Plan = z.infer<typeof PlanSchema>;
export type PlanRequest = z.input<typeof PlanInput>;
export type Subject = z.infer<typeof SubjectSchema>;
export type SubjectRequest = z.input<typeof SubjectInput>;
export type Reservation = z.infer<typeof ReservationSchema>;
export type ReserveRequest = z.input<typeof ReserveInput>;
export type Reserved = z.infer<typeof ReservedSchema>;
export type CommittedReservation = z.infer<typeof CommittedSchema>;
export type ReleasedReservation = z.infer<typeof ReleasedSchema>;
export type ReservationPage = z.infer<typeof ReservationPageSchema>;
export type Grant = z.infer<typeof GrantSchema>;
export type GrantRequest = z.input<typeof CreateGrantInput>;

export interface HistoryQuery {
  subjectId?: string;
  meter?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
  dimensions?: Record<string, string>;
}

export interface SummaryQuery extends Omit<HistoryQuery, "limit" | "cursor"> {
  groupBy: ("meter" | "subjectId" | "day" | "week" | "month" | `dimension.${string}`)[];
  tz?: string;
}

export interface ReservationQuery {
  status?: Reservation["status"];
  limit?: number;
  cursor?: string;
}

export interface GrantQuery {
  meter?: string;
  includeInactive?: boolean;
}

/** The service's error envelope, thrown as TallyError. */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: unknown };
}
