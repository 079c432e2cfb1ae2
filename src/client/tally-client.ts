import { BufferedRecorder, type BufferedRecorderOptions } from "./buffered-recorder.js";
import type {
  Amended,
  AmendRequest,
  ApiKey,
  ApiKeyQuery,
  ApiKeyRequest,
  ApiKeyWithSecret,
  AuditEntry,
  AuditLogQuery,
  BatchResult,
  CommittedReservation,
  Consumed,
  ConsumeRequest,
  DeadLetter,
  DeadLetterQuery,
  DeadLetterReplayed,
  Decision,
  Enqueued,
  EntitlementRow,
  ErrorBody,
  ErrorCode,
  ExportQuery,
  FaxProvider,
  FaxRecord,
  FaxRegistered,
  FaxRegistration,
  FeatureRow,
  GaugeMoved,
  Grant,
  GrantList,
  GrantQuery,
  GrantRequest,
  HistoryFilter,
  HistoryPage,
  HistoryQuery,
  Meter,
  MeterQuery,
  MeterRequest,
  Notification,
  NotificationQuery,
  Page,
  PageQuery,
  PeriodQuery,
  PeriodRow,
  Plan,
  PlanRequest,
  Recalculated,
  Recorded,
  ReleasedReservation,
  Reservation,
  ReservationPage,
  ReservationQuery,
  Reserved,
  ReserveRequest,
  RollApiKeyRequest,
  RotatedSecret,
  RotateSecretRequest,
  Subject,
  SubjectQuery,
  SubjectRequest,
  SummaryQuery,
  UnattributedFaxEvent,
  UsageEvent,
  UsageEventInput,
  UsageSummary,
  Voided,
  VoidedGrant,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointRequest,
  WebhookTestDelivery,
} from "./types.js";

export interface TallyClientOptions {
  /** e.g. https://tally.example.workers.dev (no trailing /v1). */
  baseUrl: string;
  /** The service key, an API key (`tly_…`), or a user token for the read calls a user may make. */
  token: string;
  /** Attempts per call, the first included (default 4). */
  maxAttempts?: number;
  /** First back-off in ms, doubled per attempt with full jitter (default 200). */
  retryBaseMs?: number;
  /** Longest single wait, also for Retry-After (default 10 s). */
  maxRetryDelayMs?: number;
  /** Defaults to the global fetch (Workers, Node ≥ 20, browsers). */
  fetch?: typeof fetch;
}

/**
 * An answer from tally that is not a success, with its error envelope. `code` is the envelope's;
 * NETWORK_ERROR when no answer came, HTTP_<status> when the answer had no envelope.
 */
export class TallyError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | (string & Record<never, never>),
    message: string,
    readonly requestId: string | null,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "TallyError";
  }
}

/** Statuses worth another try: the request may not have been applied, and the same key makes a retry safe. */
const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Statuses that say the request was not processed at all: the only ones a call that is not idempotent retries. */
const NOT_PROCESSED = new Set([425, 429]);

/**
 * How a call may be retried: `idempotent` calls (every write carries an idempotency key, or repeating
 * it changes nothing) retry whatever the failure; `once` calls (each one issues a new secret or
 * sends a new event) retry only answers that say nothing was done.
 */
type Replay = "idempotent" | "once";

/**
 * A typed client for tally's API. Every write carries an idempotency key, generated once before
 * the first attempt when the caller gives none, so the client's own retries are always safe.
 */
export class TallyClient {
  private readonly fetcher: typeof fetch;

  constructor(private readonly options: TallyClientOptions) {
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  }

  // Usage

  record(event: UsageEventInput): Promise<Recorded> {
    return this.json("POST", "/v1/usage", withKey(event));
  }

  recordBatch(events: UsageEventInput[]): Promise<BatchResult> {
    return this.json("POST", "/v1/usage/batch", { events: events.map(withKey) });
  }

  recordAsync(events: UsageEventInput[]): Promise<Enqueued> {
    return this.json("POST", "/v1/usage/async", { events: events.map(withKey) });
  }

  /** One page of history, newest first. */
  usage(query: HistoryQuery = {}): Promise<HistoryPage> {
    return this.json("GET", withQuery("/v1/usage", historyParams(query)));
  }

  /** Every page of history for the query, fetched lazily. */
  allUsage(query: Omit<HistoryQuery, "cursor"> = {}): AsyncGenerator<UsageEvent> {
    return paginate((cursor) => this.usage({ ...query, cursor }));
  }

  /** The user token's own history. */
  myUsage(query: Omit<HistoryQuery, "subjectId"> = {}): Promise<HistoryPage> {
    return this.json("GET", withQuery("/v1/me/usage", historyParams(query)));
  }

  usageEvent(id: string): Promise<{ event: UsageEvent }> {
    return this.json("GET", path`/v1/usage/${id}`);
  }

  /** Takes the event back (counters, periods and thresholds restated); voiding again answers `already_voided`. */
  voidUsage(id: string, reason?: string): Promise<Voided> {
    return this.json("POST", path`/v1/usage/${id}/void`, reason === undefined ? undefined : { reason });
  }

  /** Voids the event and records its corrected replacement in one step; the same amendment again answers `duplicate`. */
  amendUsage(id: string, corrections: AmendRequest): Promise<Amended> {
    return this.json("POST", path`/v1/usage/${id}/amend`, corrections);
  }

  summary(query: SummaryQuery): Promise<UsageSummary> {
    const { groupBy, tz, distinct, compare, sort, limit, ...filter } = query;
    const params = { ...historyParams(filter), groupBy: groupBy.join(","), tz, distinct, compare, sort, limit };
    return this.json("GET", withQuery("/v1/usage/summary", params));
  }

  /** History as CSV (header row first), oldest first. */
  async exportCsv(query: ExportQuery = {}): Promise<string> {
    const { dimensionColumns, ...filter } = query;
    const params = { ...historyParams(filter), dimensions: dimensionColumns?.join(",") };
    return (await this.send("GET", withQuery("/v1/usage/export.csv", params))).text();
  }

  /** A recorder that batches events (by size and time) and flushes what is left on close(). */
  recorder(options: BufferedRecorderOptions = {}): BufferedRecorder {
    return new BufferedRecorder((events) => this.recordBatch(events), options);
  }

  // Entitlements and gauges

  /** A subject's entitlement rows; without a subject, the user token's own. */
  entitlements(subjectId?: string): Promise<{ data: EntitlementRow[] }> {
    return subjectId === undefined ? this.myEntitlements() : this.json("GET", path`/v1/subjects/${subjectId}/entitlements`);
  }

  myEntitlements(): Promise<{ data: EntitlementRow[] }> {
    return this.json("GET", "/v1/me/entitlements");
  }

  check(subjectId: string, meter: string, amount = 1): Promise<Decision> {
    return this.json("POST", path`/v1/subjects/${subjectId}/entitlements/${meter}/check`, { amount });
  }

  /** Resolves with the decision when allowed; a hard-limit refusal rejects with TallyError code LIMIT_EXCEEDED. */
  consume(subjectId: string, meter: string, body: ConsumeRequest = {}): Promise<Consumed> {
    return this.json("POST", path`/v1/subjects/${subjectId}/entitlements/${meter}/consume`, keyed(body));
  }

  increment(subjectId: string, meter: string, amount = 1, idempotencyKey = newKey()): Promise<GaugeMoved> {
    return this.json("POST", path`/v1/subjects/${subjectId}/meters/${meter}/increment`, { amount, idempotencyKey });
  }

  decrement(subjectId: string, meter: string, amount = 1, idempotencyKey = newKey()): Promise<GaugeMoved> {
    return this.json("POST", path`/v1/subjects/${subjectId}/meters/${meter}/decrement`, { amount, idempotencyKey });
  }

  setGauge(subjectId: string, meter: string, value: number, idempotencyKey = newKey()): Promise<GaugeMoved> {
    return this.json("PUT", path`/v1/subjects/${subjectId}/meters/${meter}`, { value, idempotencyKey });
  }

  /** The subject's features (plan values with its overrides laid over them), sorted by key. */
  features(subjectId: string): Promise<{ data: FeatureRow[] }> {
    return this.json("GET", path`/v1/subjects/${subjectId}/features`);
  }

  /** The features of the user token's own subject. */
  myFeatures(): Promise<{ data: FeatureRow[] }> {
    return this.json("GET", "/v1/me/features");
  }

  // Holds and grants

  /** Holds `amount` against the limit; a hard-limit refusal rejects with TallyError code LIMIT_EXCEEDED. */
  reserve(subjectId: string, meter: string, body: ReserveRequest): Promise<Reserved> {
    return this.json("POST", path`/v1/subjects/${subjectId}/entitlements/${meter}/reserve`, keyed(body));
  }

  /** Records what the hold turned into (the held amount when `amount` is left out); safe to retry, it is terminal. */
  commitReservation(subjectId: string, reservationId: string, amount?: number): Promise<CommittedReservation> {
    return this.json("POST", path`/v1/subjects/${subjectId}/reservations/${reservationId}/commit`, amount === undefined ? {} : { amount });
  }

  releaseReservation(subjectId: string, reservationId: string): Promise<ReleasedReservation> {
    return this.json("POST", path`/v1/subjects/${subjectId}/reservations/${reservationId}/release`, {});
  }

  reservations(subjectId: string, query: ReservationQuery = {}): Promise<ReservationPage> {
    return this.json("GET", withQuery(path`/v1/subjects/${subjectId}/reservations`, query));
  }

  reservation(subjectId: string, reservationId: string): Promise<{ reservation: Reservation }> {
    return this.json("GET", path`/v1/subjects/${subjectId}/reservations/${reservationId}`);
  }

  createGrant(subjectId: string, body: GrantRequest): Promise<{ grant: Grant }> {
    return this.json("POST", path`/v1/subjects/${subjectId}/grants`, keyed(body));
  }

  grants(subjectId: string, query: GrantQuery = {}): Promise<GrantList> {
    return this.json("GET", withQuery(path`/v1/subjects/${subjectId}/grants`, query));
  }

  voidGrant(subjectId: string, grantId: string): Promise<VoidedGrant> {
    return this.json("POST", path`/v1/subjects/${subjectId}/grants/${grantId}/void`);
  }

  // Meters, plans and subjects

  putMeter(key: string, body: MeterRequest): Promise<{ meter: Meter }> {
    return this.json("PUT", path`/v1/meters/${key}`, body);
  }

  meter(key: string): Promise<{ meter: Meter }> {
    return this.json("GET", path`/v1/meters/${key}`);
  }

  /** Every meter; archived ones only with `includeArchived`. */
  meters(query: MeterQuery = {}): Promise<{ data: Meter[] }> {
    return this.json("GET", withQuery("/v1/meters", query));
  }

  /** New usage for an archived meter answers 422 METER_ARCHIVED; archiving again changes nothing. */
  archiveMeter(key: string): Promise<{ meter: Meter }> {
    return this.json("POST", path`/v1/meters/${key}/archive`);
  }

  unarchiveMeter(key: string): Promise<{ meter: Meter }> {
    return this.json("POST", path`/v1/meters/${key}/unarchive`);
  }

  putPlan(planId: string, body: PlanRequest): Promise<{ plan: Plan }> {
    return this.json("PUT", path`/v1/plans/${planId}`, body);
  }

  plan(planId: string): Promise<{ plan: Plan }> {
    return this.json("GET", path`/v1/plans/${planId}`);
  }

  plans(query: PageQuery = {}): Promise<Page<Plan>> {
    return this.json("GET", withQuery("/v1/plans", query));
  }

  /** 409 PLAN_IN_USE while a subject has the plan (`details.subjectIds`). */
  deletePlan(planId: string): Promise<{ plan: Plan }> {
    return this.json("DELETE", path`/v1/plans/${planId}`);
  }

  putSubject(subjectId: string, body: SubjectRequest): Promise<{ subject: Subject }> {
    return this.json("PUT", path`/v1/subjects/${subjectId}`, body);
  }

  subject(subjectId: string): Promise<{ subject: Subject }> {
    return this.json("GET", path`/v1/subjects/${subjectId}`);
  }

  subjects(query: SubjectQuery = {}): Promise<Page<Subject>> {
    return this.json("GET", withQuery("/v1/subjects", query));
  }

  /** Rebuilds the subject's current-period counters from history; safe to repeat. */
  recalculate(subjectId: string): Promise<Recalculated> {
    return this.json("POST", path`/v1/subjects/${subjectId}/recalculate`);
  }

  // Periods, notifications and outbound webhooks

  /** Closed-period rollups, oldest first. */
  periods(query: PeriodQuery = {}): Promise<Page<PeriodRow>> {
    return this.json("GET", withQuery("/v1/periods", query));
  }

  notifications(query: NotificationQuery = {}): Promise<Page<Notification>> {
    return this.json("GET", withQuery("/v1/notifications", query));
  }

  /**
   * Creates (with its `secret`, answered this once) or updates a subscription. A create whose answer
   * was lost and retried comes back without the secret: rotate it then.
   */
  putWebhookEndpoint(id: string, body: WebhookEndpointRequest): Promise<{ endpoint: WebhookEndpoint }> {
    return this.json("PUT", path`/v1/webhook-endpoints/${id}`, body, body.rotateSecret ? "once" : "idempotent");
  }

  webhookEndpoint(id: string): Promise<{ endpoint: WebhookEndpoint }> {
    return this.json("GET", path`/v1/webhook-endpoints/${id}`);
  }

  webhookEndpoints(query: PageQuery = {}): Promise<Page<WebhookEndpoint>> {
    return this.json("GET", withQuery("/v1/webhook-endpoints", query));
  }

  deleteWebhookEndpoint(id: string): Promise<{ deleted: true }> {
    return this.json("DELETE", path`/v1/webhook-endpoints/${id}`);
  }

  webhookDeliveries(id: string, query: PageQuery = {}): Promise<Page<WebhookDelivery>> {
    return this.json("GET", withQuery(path`/v1/webhook-endpoints/${id}/deliveries`, query));
  }

  /** Sends a signed `webhook.test` event now and answers its outcome. */
  testWebhookEndpoint(id: string): Promise<{ delivery: WebhookTestDelivery }> {
    return this.json("POST", path`/v1/webhook-endpoints/${id}/test`, undefined, "once");
  }

  /** Queues a delivery again (same webhook-id, so receivers that deduplicate see it once). */
  redeliverWebhook(id: string, deliveryId: string): Promise<{ delivery: WebhookDelivery }> {
    return this.json("POST", path`/v1/webhook-endpoints/${id}/deliveries/${deliveryId}/redeliver`);
  }

  /** A new signing secret; during `overlapSeconds` deliveries carry both signatures. */
  rotateWebhookSecret(id: string, body: RotateSecretRequest = {}): Promise<RotatedSecret> {
    return this.json("POST", path`/v1/webhook-endpoints/${id}/rotate-secret`, body, "once");
  }

  // Faxes and dead letters

  /** Whom to bill for a fax whose webhook does not name the subject; registering again changes nothing. */
  registerFax(body: FaxRegistration): Promise<FaxRegistered> {
    return this.json("POST", "/v1/faxes", body);
  }

  fax(provider: FaxProvider, faxId: string): Promise<FaxRecord> {
    return this.json("GET", path`/v1/faxes/${provider}/${faxId}`);
  }

  /** Delivered faxes waiting for their subject, oldest first. */
  unattributedFaxes(query: PageQuery = {}): Promise<Page<UnattributedFaxEvent>> {
    return this.json("GET", withQuery("/v1/webhooks/unattributed", query));
  }

  deadLetters(query: DeadLetterQuery = {}): Promise<Page<DeadLetter>> {
    return this.json("GET", withQuery("/v1/dead-letters", query));
  }

  /** Applies the message again with its own idempotency key, so a replay of one applied meanwhile changes nothing. */
  replayDeadLetter(id: string): Promise<DeadLetterReplayed> {
    return this.json("POST", path`/v1/dead-letters/${id}/replay`);
  }

  dismissDeadLetter(id: string): Promise<{ deadLetter: DeadLetter }> {
    return this.json("POST", path`/v1/dead-letters/${id}/dismiss`);
  }

  // API keys and the audit log

  /** A new key and its secret, shown this once. Not retried after an unknown outcome: that could make two keys. */
  createApiKey(body: ApiKeyRequest): Promise<ApiKeyWithSecret> {
    return this.json("POST", "/v1/api-keys", body, "once");
  }

  apiKeys(query: ApiKeyQuery = {}): Promise<Page<ApiKey>> {
    return this.json("GET", withQuery("/v1/api-keys", query));
  }

  apiKey(id: string): Promise<{ apiKey: ApiKey }> {
    return this.json("GET", path`/v1/api-keys/${id}`);
  }

  /** Revoking again answers the same key. */
  revokeApiKey(id: string): Promise<{ apiKey: ApiKey }> {
    return this.json("DELETE", path`/v1/api-keys/${id}`);
  }

  /** A new secret for the key; the old one keeps working for `overlapSeconds`. Not retried after an unknown outcome. */
  rollApiKey(id: string, body: RollApiKeyRequest = {}): Promise<ApiKeyWithSecret> {
    return this.json("POST", path`/v1/api-keys/${id}/roll`, body, "once");
  }

  /** Configuration changes, newest first. */
  auditLog(query: AuditLogQuery = {}): Promise<Page<AuditEntry>> {
    return this.json("GET", withQuery("/v1/audit-log", query));
  }

  // Transport

  private async json<T>(method: string, target: string, body?: unknown, replay: Replay = "idempotent"): Promise<T> {
    return (await (await this.send(method, target, body, replay)).json()) as T;
  }

  /** The successful answer, after retries; a TallyError otherwise. */
  private async send(method: string, target: string, body?: unknown, replay: Replay = "idempotent"): Promise<Response> {
    const maxAttempts = this.options.maxAttempts ?? 4;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      let response: Response | null = null;
      let failure: unknown = null;
      try {
        response = await this.fetcher(`${this.options.baseUrl.replace(/\/$/, "")}${target}`, {
          method,
          headers: { authorization: `Bearer ${this.options.token}`, ...(payload ? { "content-type": "application/json" } : {}) },
          body: payload,
        });
      } catch (error) {
        failure = error;
      }
      if (response?.ok) return response;
      const retryable =
        replay === "idempotent" ? response === null || TRANSIENT.has(response.status) : NOT_PROCESSED.has(response?.status ?? 0);
      if (!retryable || attempt >= maxAttempts) throw await toError(response, failure);
      await response?.body?.cancel();
      await sleep(this.delayBefore(attempt, response));
    }
  }

  private delayBefore(attempt: number, response: Response | null): number {
    const cap = this.options.maxRetryDelayMs ?? 10_000;
    const retryAfter = response?.headers.get("retry-after");
    if (retryAfter) {
      const seconds = Number(retryAfter);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
      if (Number.isFinite(ms) && ms >= 0) return Math.min(cap, ms);
    }
    // Full jitter: spread retries out so many clients do not return in step.
    return Math.random() * Math.min(cap, (this.options.retryBaseMs ?? 200) * 2 ** (attempt - 1));
  }
}

/**
 * Every item of a paginated list, fetching each page when the one before is used up:
 * `for await (const key of paginate((cursor) => tally.apiKeys({ cursor }))) …`.
 */
export async function* paginate<T>(
  page: (cursor: string | undefined) => Promise<{ data: T[]; nextCursor?: string | null }>,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const { data, nextCursor } = await page(cursor);
    yield* data;
    cursor = nextCursor ?? undefined;
  } while (cursor);
}

function withKey(event: UsageEventInput): UsageEventInput {
  if ("subjectId" in event || "entitlementKey" in event) return keyed(event);
  return event; // seed recordUsage has no key field; pantry logs carry their LogID
}

function keyed<T extends { idempotencyKey?: string }>(body: T): T {
  return { ...body, idempotencyKey: body.idempotencyKey ?? newKey() };
}

function newKey(): string {
  return `client:${crypto.randomUUID()}`;
}

/** A path with each interpolated value URL-encoded. */
function path(parts: TemplateStringsArray, ...values: string[]): string {
  return parts.reduce((out, part, i) => `${out}${encodeURIComponent(values[i - 1]!)}${part}`);
}

/** `path?name=value&…` of the parameters that are set. */
function withQuery(base: string, params: object): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params) as [string, unknown][]) if (value !== undefined) search.set(name, String(value));
  const text = search.toString();
  return text === "" ? base : `${base}?${text}`;
}

/** History filters as query parameters: `dimensions` become `dimension.<name>=<value>`. */
function historyParams({ dimensions, ...rest }: HistoryFilter & PageQuery): object {
  return { ...rest, ...Object.fromEntries(Object.entries(dimensions ?? {}).map(([name, value]) => [`dimension.${name}`, value])) };
}

async function toError(response: Response | null, failure: unknown): Promise<TallyError> {
  if (!response) return new TallyError(0, "NETWORK_ERROR", String(failure), null);
  const body = (await response.json().catch(() => null)) as ErrorBody | null;
  return new TallyError(
    response.status,
    body?.error?.code ?? `HTTP_${response.status}`,
    body?.error?.message ?? response.statusText,
    body?.error?.requestId ?? response.headers.get("x-request-id"),
    body?.error?.details,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
