import type { ErrorCode } from "../domain/errors";
import { fieldIssues } from "../domain/field-issues";
import { splitMode } from "../domain/queue-messages";
import { toEventDraft, UsageEventInput, type EventDraft } from "../domain/usage-event";
import { log } from "../http/log";
import type { LedgerEventInput, RecordOutcome } from "../ledger/contract";
import { recordInLedgers } from "./ledger-fan-out";
import { prepareEvents, type PreparedEvent } from "./prepare-events";

export interface UsageMessage {
  /** The queue's message id: the idempotency key of a keyless event, stable across redeliveries. */
  id: string;
  body: unknown;
}

export type MessageOutcome =
  | { kind: "applied"; eventId: string }
  | { kind: "duplicate"; eventId: string }
  | { kind: "dead"; reason: ErrorCode; detail: string }
  | { kind: "retry"; detail: string };

const QUEUE_SOURCE = "queue";

/**
 * Applies queue messages: validates each, then one ledger call per subject for the whole set.
 * Invalid or refused messages are `dead` (never retried); an unreachable ledger is `retry`.
 */
export async function applyUsageMessages(env: Env, messages: UsageMessage[]): Promise<MessageOutcome[]> {
  const outcomes: MessageOutcome[] = new Array(messages.length);
  const valid: { index: number; draft: EventDraft; mode: "record" | "consume" }[] = [];
  messages.forEach((message, index) => {
    const split = splitMode(message.body);
    if ("invalidMode" in split) {
      outcomes[index] = { kind: "dead", reason: "VALIDATION_FAILED", detail: "mode must be 'record' or 'consume'" };
      return;
    }
    const parsed = UsageEventInput.safeParse(split.event);
    if (!parsed.success) {
      const issues = fieldIssues(parsed.error)
        .slice(0, 5)
        .map((i) => `${i.path || "(body)"}: ${i.message}`);
      outcomes[index] = { kind: "dead", reason: "VALIDATION_FAILED", detail: issues.join("; ") };
      return;
    }
    const draft = toEventDraft(parsed.data);
    valid.push({ index, draft: { ...draft, idempotencyKey: draft.idempotencyKey ?? `queue:${message.id}` }, mode: split.mode });
  });

  let prepared: PreparedEvent[];
  try {
    prepared = await prepareEvents(
      env,
      valid.map((v) => v.draft),
      QUEUE_SOURCE,
      Date.now(),
    );
  } catch (error) {
    for (const { index } of valid) outcomes[index] = { kind: "retry", detail: `meters unavailable: ${String(error)}` };
    return outcomes;
  }

  const accepted: { index: number; input: LedgerEventInput }[] = [];
  prepared.forEach((p, k) => {
    const { index, mode } = valid[k]!;
    if (p.ok) accepted.push({ index, input: { ...p.input, mode } });
    else outcomes[index] = { kind: "dead", reason: p.rejection.error.code, detail: p.rejection.error.message };
  });
  const replies = await recordInLedgers(
    env,
    accepted.map((a) => a.input),
    (subjectId, messages, error) => log("warn", "queue.ledger_unavailable", { subjectId, messages, error: String(error) }),
  );
  accepted.forEach(({ index }, k) => {
    const reply = replies[k]!;
    outcomes[index] = reply.ok ? toOutcome(reply.outcome) : { kind: "retry", detail: `ledger unavailable: ${String(reply.error)}` };
  });
  return outcomes;
}

function toOutcome(result: RecordOutcome): MessageOutcome {
  switch (result.status) {
    case "created":
      return { kind: "applied", eventId: result.event.id };
    case "duplicate":
      return { kind: "duplicate", eventId: result.event.id };
    case "denied":
      return {
        kind: "dead",
        reason: "LIMIT_EXCEEDED",
        detail: `hard limit ${(result.decision.limitE4 ?? 0) / 10_000} reached (used ${result.decision.usedE4 / 10_000})`,
      };
    case "conflict":
      return { kind: "dead", reason: "IDEMPOTENCY_CONFLICT", detail: `key already used for event ${result.event.id}` };
  }
}
