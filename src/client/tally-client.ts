import type {
  BatchResult,
  ConsumeRequest,
  Consumed,
  Decision,
  EntitlementRow,
  CommittedReservation,
  ErrorBody,
  FeatureRow,
  GaugeMoved,
  Grant,
  GrantQuery,
  GrantRequest,
  HistoryPage,
  HistoryQuery,
  Meter,
  Plan,
  PlanRequest,
  Recorded,
  ReleasedReservation,
  Reservation,
  ReservationPage,
  ReservationQuery,
  Reserved,
  ReserveRequest,
  Subject,
  SubjectRequest,
  SummaryQuery,
  UsageEventInput,
  UsageSummary,
} from "./types.js";
import { BufferedRecorder, type BufferedRecorderOptions } from "./buffered-recorder.js";

export interface TallyClientOptions {
  /** e.g. https://tally.example.workers.dev (no trailing /v1). */
  baseUrl: string;
  /** The service key, or a user token for the read calls a user may make. */
  token: string;
  /** Attempts per call, the first included (default 4). */
  maxAttempts?: number;
  /** First back-off in ms, doubled per attempt with full jitter (default 200). */
  retryBaseMs?: number;
  /** Longest single wait, also for Retry-After (default 10 s). */
  maxRetryDelayMs?: number;
  /** Defaults to the global fetch (Workers, Node ≥ 18, browsers). */
  fetch?: typeof fetch;
}

/** An answer from tally that is not a success, with its error envelope. */
export class TallyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
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

/**
 * A typed client for tally's API. Every write carries an idempotency key, generated once before
 * the first attempt when the caller gives none, so the client's own retries are always safe.
 */
export class TallyClient {
  private readonly fetcher: typeof fetch;

  constructor(private readonly options: TallyClientOptions) {
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  }

  record(event: UsageEventInput): Promise<Recorded> {
    return this.request("POST", "/v1/usage", withKey(event));
  }

  recordBatch(events: UsageEventInput[]): Promise<BatchResult> {
    return this.request("POST", "/v1/usage/batch", { events: events.map(withKey) });
  }

  recordAsync(events: UsageEventInput[]): Promise<{ enqueued: number }> {
    return this.request("POST", "/v1/usage/async", { events: events.map(withKey) });
  }

  check(subjectId: string, meter: string, amount = 1): Promise<Decision> {
    return this.request("POST", `/v1/subjects/${enc(subjectId)}/entitlements/${enc(meter)}/check`, { amount });
  }

  /** Resolves with the decision when allowed; a hard-limit refusal rejects with TallyError code LIMIT_EXCEEDED. */
  consume(subjectId: string, meter: string, body: ConsumeRequest = {}): Promise<Consumed> {
    return this.request("POST", `/v1/subjects/${enc(subjectId)}/entitlements/${enc(meter)}/consume`, {
      ...body,
      idempotencyKey: body.idempotencyKey ?? newKey(),
    });
  }

  increment(subjectId: string, meter: string, amount = 1, idempotencyKey = newKey()): Promise<GaugeMoved> {
    return this.request("POST", `/v1/subjects/${enc(subjectId)}/meters/${enc(meter)}/increment`, { amount, idempotencyKey });
  }

  decrement(subjectId: string, meter: string, amount = 1, idempotencyKey = newKey()): Promise<GaugeMoved> {
    return this.request("POST", `/v1/subjects/${enc(subjectId)}/meters/${enc(meter)}/decrement`, { amount, idempotencyKey });
  }

  setGauge(subjectId: string, meter: string, value: number, idempotencyKey = newKey()): Promise<GaugeMoved> {
    return this.request("PUT", `/v1/subjects/${enc(subjectId)}/meters/${enc(meter)}`, { value, idempotencyKey });
  }

  /** Holds `amount` against the limit; a hard-limit refusal rejects with TallyError code LIMIT_EXCEEDED. */
  reserve(subjectId: string, meter: string, body: ReserveRequest): Promise<Reserved> {
    return this.request("POST", `/v1/subjects/${enc(subjectId)}/entitlements/${enc(meter)}/reserve`, {
      ...body,
      idempotencyKey: body.idempotencyKey ?? newKey(),
    });
  }

  /** Records what the hold turned into (the held amount when `amount` is left out); safe to retry, it is terminal. */
  commitReservation(subjectId: string, reservationId: string, amount?: number): Promise<CommittedReservation> {
    return this.request("POST", `${reservationPath(subjectId, reservationId)}/commit`, amount === undefined ? {} : { amount });
  }

  releaseReservation(subjectId: string, reservationId: string): Promise<ReleasedReservation> {
    return this.request("POST", `${reservationPath(subjectId, reservationId)}/release`, {});
  }

  reservations(subjectId: string, query: ReservationQuery = {}): Promise<ReservationPage> {
    return this.request("GET", `/v1/subjects/${enc(subjectId)}/reservations${queryString(query)}`);
  }

  reservation(subjectId: string, reservationId: string): Promise<{ reservation: Reservation }> {
    return this.request("GET", reservationPath(subjectId, reservationId));
  }

  createGrant(subjectId: string, body: GrantRequest): Promise<{ grant: Grant }> {
    return this.request("POST", `/v1/subjects/${enc(subjectId)}/grants`, { ...body, idempotencyKey: body.idempotencyKey ?? newKey() });
  }

  grants(subjectId: string, query: GrantQuery = {}): Promise<{ data: Grant[]; nextCursor: null }> {
    return this.request("GET", `/v1/subjects/${enc(subjectId)}/grants${queryString(query)}`);
  }

  voidGrant(subjectId: string, grantId: string): Promise<{ grant: Grant; status: "voided" | "already_voided" }> {
    return this.request("POST", `/v1/subjects/${enc(subjectId)}/grants/${enc(grantId)}/void`);
  }

  entitlements(subjectId?: string): Promise<{ data: EntitlementRow[] }> {
    return this.request("GET", subjectId === undefined ? "/v1/me/entitlements" : `/v1/subjects/${enc(subjectId)}/entitlements`);
  }

  /** The subject's features (plan values with its overrides laid over them), sorted by key. */
  features(subjectId: string): Promise<{ data: FeatureRow[] }> {
    return this.request("GET", `/v1/subjects/${enc(subjectId)}/features`);
  }

  /** The features of the user token's own subject. */
  myFeatures(): Promise<{ data: FeatureRow[] }> {
    return this.request("GET", "/v1/me/features");
  }

  usage(query: HistoryQuery = {}): Promise<HistoryPage> {
    return this.request("GET", `/v1/usage?${historyParams(query)}`);
  }

  /** Every page of history for the query, fetched lazily. */
  async *allUsage(query: Omit<HistoryQuery, "cursor"> = {}): AsyncGenerator<HistoryPage["data"][number]> {
    let cursor: string | undefined;
    do {
      const page = await this.usage({ ...query, cursor });
      yield* page.data;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  summary(query: SummaryQuery): Promise<UsageSummary> {
    const params = historyParams(query);
    params.set("groupBy", query.groupBy.join(","));
    if (query.tz) params.set("tz", query.tz);
    return this.request("GET", `/v1/usage/summary?${params}`);
  }

  putMeter(key: string, body: { unit: string; kind?: "counter" | "gauge"; description?: string | null }): Promise<{ meter: Meter }> {
    return this.request("PUT", `/v1/meters/${enc(key)}`, body);
  }

  putPlan(planId: string, body: PlanRequest): Promise<{ plan: Plan }> {
    return this.request("PUT", `/v1/plans/${enc(planId)}`, body);
  }

  putSubject(subjectId: string, body: SubjectRequest): Promise<{ subject: Subject }> {
    return this.request("PUT", `/v1/subjects/${enc(subjectId)}`, body);
  }

  /** A recorder that batches events (by size and time) and flushes what is left on close(). */
  recorder(options: BufferedRecorderOptions = {}): BufferedRecorder {
    return new BufferedRecorder((events) => this.recordBatch(events), options);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 4;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      let response: Response | null = null;
      let failure: unknown = null;
      try {
        response = await this.fetcher(`${this.options.baseUrl.replace(/\/$/, "")}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.options.token}`, ...(payload ? { "content-type": "application/json" } : {}) },
          body: payload,
        });
      } catch (error) {
        failure = error;
      }
      if (response?.ok) return (await response.json()) as T;
      const retryable = response === null || TRANSIENT.has(response.status);
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

function withKey(event: UsageEventInput): UsageEventInput {
  if ("subjectId" in event || "entitlementKey" in event) return { ...event, idempotencyKey: event.idempotencyKey ?? newKey() };
  return event; // seed recordUsage has no key field; pantry logs carry their LogID
}

function newKey(): string {
  return `client:${crypto.randomUUID()}`;
}

function enc(value: string): string {
  return encodeURIComponent(value);
}

function reservationPath(subjectId: string, reservationId: string): string {
  return `/v1/subjects/${enc(subjectId)}/reservations/${enc(reservationId)}`;
}

/** `?name=value&…` of the parameters that are set; empty when none is. */
function queryString(query: ReservationQuery | GrantQuery): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query) as [string, unknown][]) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function historyParams(query: Omit<HistoryQuery, "limit" | "cursor"> & { limit?: number; cursor?: string }): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ["subjectId", "meter", "from", "to", "limit", "cursor"] as const) {
    const value = query[key];
    if (value !== undefined) params.set(key, String(value));
  }
  for (const [name, value] of Object.entries(query.dimensions ?? {})) params.set(`dimension.${name}`, value);
  return params;
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
