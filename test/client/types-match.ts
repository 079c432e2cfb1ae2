/**
 * The client's hand-written types (src/client/types.ts, shipped without the server) against the
 * zod schemas the server validates and answers with: responses as z.infer, request bodies as
 * z.input. Checked by `npm run typecheck` (test/tsconfig.json): a field added, dropped, renamed,
 * retyped or made optional on either side fails the line of its pair.
 */
import type { z } from "zod";
import type * as Client from "../../src/client/index";
import type { AmendInput } from "../../src/domain/corrections";
import type { PlanInput, SubjectInput } from "../../src/domain/entitlements";
import type { ERROR_CODES } from "../../src/domain/errors";
import type { LEDGER_NOTIFICATION_TYPES, NOTIFICATION_TYPES } from "../../src/domain/notifications";
import type { JsonValue } from "../../src/domain/stored-event";
import type { SummaryOptions } from "../../src/domain/summary-report";
import type { BucketUnit } from "../../src/domain/time-buckets";
import type { GrantSchema, ReservationSchema } from "../../src/routes/credit-views";
import type { DeadLetterReplayedSchema, DeadLetterSchema } from "../../src/routes/dead-letters";
import type { ConsumedSchema, ConsumeInput, DecisionSchema, EntitlementRowSchema } from "../../src/routes/entitlements";
import type {
  BilledFaxSchema,
  FaxInput,
  FaxRecordSchema,
  FaxRegisteredSchema,
  FaxSchema,
  ReceiptSchema,
  UnattributedSchema,
} from "../../src/routes/faxes";
import type { FeatureRowSchema } from "../../src/routes/features";
import type { GaugeMovedSchema } from "../../src/routes/gauges";
import type { CreateGrantInput, GrantListSchema, VoidedGrantSchema } from "../../src/routes/grants";
import type { MeterInputSchema, MeterSchema } from "../../src/routes/meters";
import type { NotificationSchema } from "../../src/routes/notifications";
import type { PeriodSchema } from "../../src/routes/periods";
import type { PlanSchema } from "../../src/routes/plans";
import type { UsageSummarySchema } from "../../src/routes/reports";
import type {
  CommitReservationInput,
  CommittedSchema,
  ReleasedSchema,
  ReservationPageSchema,
  ReservedSchema,
  ReserveInput,
} from "../../src/routes/reservations";
import type { ErrorEnvelopeSchema, EventInputSchema, EventSchema } from "../../src/routes/schemas";
import type { RecalculatedSchema, SubjectSchema } from "../../src/routes/subjects";
import type { AmendedSchema, VoidedSchema } from "../../src/routes/usage-corrections";
import type { HistoryPageSchema } from "../../src/routes/usage-read";
import type { BatchResultSchema, EnqueuedSchema, RecordedSchema } from "../../src/routes/usage-write";
import type { ApiKeySchema, CreateApiKeyInput, RollApiKeyInput } from "../../src/routes/api-keys";
import type { AuditEntrySchema } from "../../src/routes/audit-log";
import type { DeliverySchema, TestDeliverySchema } from "../../src/routes/webhook-deliveries";
import type { EndpointInput, EndpointSchema } from "../../src/routes/webhook-endpoints";

/** Object types with every level spelt out, so that zod's intersections and the client's interfaces compare as written. */
type Deep<T> = T extends (infer E)[] ? Deep<E>[] : T extends object ? { [K in keyof T]: Deep<T[K]> } : T;
/**
 * A and B are the same type at every depth: the same properties, each as optional and of the same
 * type (mutual assignability alone would let an optional field be added or dropped, and `any` pass).
 */
type Same<A, B> = (<T>() => T extends Deep<A> ? 1 : 2) extends <T>() => T extends Deep<B> ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
type Out<T extends z.ZodType> = z.infer<T>;
type In<T extends z.ZodType> = z.input<T>;

export type ResponsesMatch = [
  Assert<Same<Client.UsageEvent, Out<typeof EventSchema>>>,
  Assert<Same<Client.Recorded, Out<typeof RecordedSchema>>>,
  Assert<Same<Client.BatchResult, Out<typeof BatchResultSchema>>>,
  Assert<Same<Client.Enqueued, Out<typeof EnqueuedSchema>>>,
  Assert<Same<Client.HistoryPage, Out<typeof HistoryPageSchema>>>,
  Assert<Same<Client.UsageSummary, Out<typeof UsageSummarySchema>>>,
  Assert<Same<Client.Voided, Out<typeof VoidedSchema>>>,
  Assert<Same<Client.Amended, Out<typeof AmendedSchema>>>,
  Assert<Same<Client.EntitlementRow, Out<typeof EntitlementRowSchema>>>,
  Assert<Same<Client.Decision, Out<typeof DecisionSchema>>>,
  Assert<Same<Client.Consumed, Out<typeof ConsumedSchema>>>,
  Assert<Same<Client.GaugeMoved, Out<typeof GaugeMovedSchema>>>,
  Assert<Same<Client.FeatureRow, Out<typeof FeatureRowSchema>>>,
  Assert<Same<Client.JsonValue, JsonValue>>,
  Assert<Same<Client.Reservation, Out<typeof ReservationSchema>>>,
  Assert<Same<Client.Reserved, Out<typeof ReservedSchema>>>,
  Assert<Same<Client.CommittedReservation, Out<typeof CommittedSchema>>>,
  Assert<Same<Client.ReleasedReservation, Out<typeof ReleasedSchema>>>,
  Assert<Same<Client.ReservationPage, Out<typeof ReservationPageSchema>>>,
  Assert<Same<Client.Grant, Out<typeof GrantSchema>>>,
  Assert<Same<Client.GrantList, Out<typeof GrantListSchema>>>,
  Assert<Same<Client.VoidedGrant, Out<typeof VoidedGrantSchema>>>,
  Assert<Same<Client.Plan, Out<typeof PlanSchema>>>,
  Assert<Same<Client.Subject, Out<typeof SubjectSchema>>>,
  Assert<Same<Client.Recalculated, Out<typeof RecalculatedSchema>>>,
  Assert<Same<Client.PeriodRow, Out<typeof PeriodSchema>>>,
  Assert<Same<Client.Notification, Out<typeof NotificationSchema>>>,
  Assert<Same<Client.WebhookEndpoint, Out<typeof EndpointSchema>>>,
  Assert<Same<Client.WebhookDelivery, Out<typeof DeliverySchema>>>,
  Assert<Same<Client.WebhookTestDelivery, Out<typeof TestDeliverySchema>>>,
  Assert<Same<Client.ApiKey, Out<typeof ApiKeySchema>>>,
  Assert<Same<Client.AuditEntry, Out<typeof AuditEntrySchema>>>,
  Assert<Same<Client.Fax, Out<typeof FaxSchema>>>,
  Assert<Same<Client.BilledFax, Out<typeof BilledFaxSchema>>>,
  Assert<Same<Client.FaxReceipt, Out<typeof ReceiptSchema>>>,
  Assert<Same<Client.FaxRegistered, Out<typeof FaxRegisteredSchema>>>,
  Assert<Same<Client.FaxRecord, Out<typeof FaxRecordSchema>>>,
  Assert<Same<Client.UnattributedFaxEvent, Out<typeof UnattributedSchema>>>,
  Assert<Same<Client.Meter, Out<typeof MeterSchema>>>,
  Assert<Same<Client.DeadLetter, Out<typeof DeadLetterSchema>>>,
  Assert<Same<Client.DeadLetterReplayed, Out<typeof DeadLetterReplayedSchema>>>,
];

export type RequestsMatch = [
  Assert<Same<Client.UsageEventInput, In<typeof EventInputSchema>>>,
  Assert<Same<Client.AmendRequest, In<typeof AmendInput>>>,
  Assert<Same<Client.ConsumeRequest, In<typeof ConsumeInput>>>,
  Assert<Same<Client.ReserveRequest, In<typeof ReserveInput>>>,
  Assert<Same<{ amount?: number }, In<typeof CommitReservationInput>>>,
  Assert<Same<Client.GrantRequest, In<typeof CreateGrantInput>>>,
  Assert<Same<Client.MeterRequest, In<typeof MeterInputSchema>>>,
  Assert<Same<Client.PlanRequest, In<typeof PlanInput>>>,
  Assert<Same<Client.SubjectRequest, In<typeof SubjectInput>>>,
  Assert<Same<Client.WebhookEndpointRequest, In<typeof EndpointInput>>>,
  Assert<Same<Client.ApiKeyRequest, In<typeof CreateApiKeyInput>>>,
  Assert<Same<Client.RollApiKeyRequest, In<typeof RollApiKeyInput>>>,
  Assert<Same<Client.FaxRegistration, In<typeof FaxInput>>>,
];

export type NamesMatch = [
  Assert<Same<Client.NotificationType, (typeof NOTIFICATION_TYPES)[number]>>,
  Assert<Same<NonNullable<Client.NotificationQuery["type"]>, (typeof LEDGER_NOTIFICATION_TYPES)[number]>>,
  Assert<Same<Client.ErrorCode, (typeof ERROR_CODES)[number]>>,
  Assert<Same<Exclude<Client.SummaryQuery["groupBy"][number], "meter" | "subjectId" | `dimension.${string}`>, BucketUnit>>,
  Assert<Same<NonNullable<Client.SummaryQuery["compare"]>, NonNullable<SummaryOptions["compare"]>>>,
  Assert<Same<NonNullable<Client.SummaryQuery["sort"]>, NonNullable<SummaryOptions["sort"]>>>,
  Assert<Same<Omit<Client.ErrorBody["error"], "code">, Omit<Out<typeof ErrorEnvelopeSchema>["error"], "code">>>,
];
