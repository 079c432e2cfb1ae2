import { env } from "cloudflare:workers";
import { api, type ApiResponse } from "./api";

const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const b64 = (buf: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(buf)));
const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function telnyxSignature(body: string, timestamp: string, privateKeyPkcs8 = env.TEST_TELNYX_PRIVATE_KEY): Promise<string> {
  const key = await crypto.subtle.importKey("pkcs8", bytes(privateKeyPkcs8), { name: "Ed25519" }, false, ["sign"]);
  return b64(await crypto.subtle.sign("Ed25519", key, new TextEncoder().encode(`${timestamp}|${body}`)));
}

export async function notifyreSignature(body: string, t: string, secret = env.NOTIFYRE_WEBHOOK_SECRET): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${body}`));
  return [...new Uint8Array(mac)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** POSTs a correctly signed Telnyx delivery (or a tampered one, through `alter`). */
export async function sendTelnyx(
  payload: unknown,
  alter: { body?: (raw: string) => string; timestamp?: string; signature?: string | null; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const raw = JSON.stringify(payload);
  const timestamp = alter.timestamp ?? String(nowSeconds());
  const signature = alter.signature === undefined ? await telnyxSignature(raw, timestamp) : alter.signature;
  const headers: Record<string, string> = { "telnyx-timestamp": timestamp, ...alter.headers };
  if (signature !== null) headers["telnyx-signature-ed25519"] = signature;
  return api("POST", "/webhooks/telnyx", { rawBody: alter.body ? alter.body(raw) : raw, token: null, headers });
}

export async function sendNotifyre(
  payload: unknown,
  alter: { body?: (raw: string) => string; t?: string; header?: string | null; secret?: string } = {},
): Promise<ApiResponse> {
  const raw = JSON.stringify(payload);
  const t = alter.t ?? String(nowSeconds());
  const header = alter.header === undefined ? `t=${t},v=${await notifyreSignature(raw, t, alter.secret)}` : alter.header;
  const headers: Record<string, string> = header === null ? {} : { "Notifyre-Signature": header };
  return api("POST", "/webhooks/notifyre", { rawBody: alter.body ? alter.body(raw) : raw, token: null, headers });
}

let faxSeq = 0;
export function telnyxFax(
  eventType: string,
  fields: {
    faxId?: string;
    eventId?: string;
    pages?: number | null;
    subjectId?: string;
    direction?: string;
    occurredAt?: string;
    failureReason?: string;
  } = {},
) {
  faxSeq += 1;
  const payload: Record<string, unknown> = {
    fax_id: fields.faxId ?? `fax-${faxSeq}-${crypto.randomUUID()}`,
    direction: fields.direction ?? "outbound",
    status: eventType.replace(/^fax\./, "").replace("sending.started", "sending"),
    connection_id: "234423",
    from: "+17733372107",
    to: "+15107882622",
    user_id: "19a75cea-02c6-4b9a-84fa-c9bc8341feb8",
  };
  if (fields.pages !== undefined && fields.pages !== null) payload.page_count = fields.pages;
  if (fields.subjectId) payload.client_state = btoa(JSON.stringify({ subjectId: fields.subjectId }));
  if (fields.failureReason) payload.failure_reason = fields.failureReason;
  return {
    data: {
      event_type: eventType,
      id: fields.eventId ?? crypto.randomUUID(),
      occurred_at: fields.occurredAt ?? new Date().toISOString(),
      record_type: "event",
      payload,
    },
    meta: { attempt: 1, delivered_to: "https://tally.test/webhooks/telnyx" },
  };
}

export function notifyreFax(event: string, fields: { id?: string; pages?: number | null; status?: string; reference?: string } = {}) {
  faxSeq += 1;
  const payload: Record<string, unknown> = {
    ID: fields.id ?? `nf-${faxSeq}-${crypto.randomUUID()}`,
    RecipientID: "f4da6acf-9024-4599-ab50-192ca6f6c98a",
    FromNumber: "+61771111111",
    To: "+61422677014",
    Reference: fields.reference ?? "",
    CreatedDateUtc: nowSeconds() - 60,
    QueuedDateUtc: null,
    LastModifiedDateUtc: nowSeconds(),
    HighQuality: false,
    Status: fields.status ?? "successful",
  };
  if (fields.pages !== null) payload.Pages = fields.pages ?? 3;
  return { Event: event, Timestamp: nowSeconds(), Payload: payload };
}
