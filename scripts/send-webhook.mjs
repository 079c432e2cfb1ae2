// Sends a correctly signed fax webhook to a local tally, as Telnyx or Notifyre would.
//   npm run send-webhook -- telnyx fax.delivered --fax fax-1 --pages 3 --subject user_42
//   npm run send-webhook -- notifyre fax_sent --fax nf-1 --pages 2 --subject user_42 --status successful
import { createHmac, createPrivateKey, randomUUID, sign } from "node:crypto";
import { parseArgs } from "node:util";
import { LOCAL_NOTIFYRE_SECRET, LOCAL_TELNYX_PRIVATE_KEY_PKCS8 } from "./local-keys.mjs";

const USAGE = `Usage: npm run send-webhook -- [telnyx|notifyre] [event type] [options]

Sends one fax webhook, signed with the local development keys (scripts/local-keys.mjs) as Telnyx
or Notifyre would sign it, to a running tally and prints the status and body it answered.
Provider default telnyx; event type default fax.delivered (telnyx) or fax_sent (notifyre).

  --fax ID          the provider's fax id (default fax-<random uuid>)
  --pages N         page count (default: none in the payload)
  --subject ID      the subject the fax is for (default: none)
  --status S        the fax's status (default: from the telnyx event type; notifyre: successful)
  --direction D     telnyx only: outbound or inbound (default outbound)
  --url URL         the tally to send to (default http://localhost:8787, \`npm run dev\`)
  -h, --help        this text

Example: npm run send-webhook -- notifyre fax_sent --fax nf-1 --pages 2 --subject user_42 --status successful`;

/** A bad command line: one line on stderr, exit 2 (scripts/lib/cli.ts does this for the TypeScript scripts). */
function usageError(message) {
  console.error(`send-webhook.mjs: ${message} (see --help)`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      fax: { type: "string", default: `fax-${randomUUID()}` },
      pages: { type: "string" },
      subject: { type: "string" },
      status: { type: "string" },
      direction: { type: "string", default: "outbound" },
      url: { type: "string", default: "http://localhost:8787" },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (error) {
  usageError(error.message);
}
const { positionals, values } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const [provider = "telnyx", eventType = provider === "telnyx" ? "fax.delivered" : "fax_sent"] = positionals;
const now = Math.floor(Date.now() / 1000);
const pages = values.pages === undefined ? undefined : Number(values.pages);

let body;
const headers = { "content-type": "application/json" };
if (provider === "telnyx") {
  const payload = { fax_id: values.fax, direction: values.direction, status: values.status ?? eventType.replace(/^fax\./, "") };
  if (pages !== undefined) payload.page_count = pages;
  if (values.subject) payload.client_state = Buffer.from(JSON.stringify({ subjectId: values.subject })).toString("base64");
  body = JSON.stringify({
    data: { event_type: eventType, id: randomUUID(), occurred_at: new Date().toISOString(), record_type: "event", payload },
    meta: { attempt: 1 },
  });
  const key = createPrivateKey({ key: Buffer.from(LOCAL_TELNYX_PRIVATE_KEY_PKCS8, "base64"), format: "der", type: "pkcs8" });
  headers["telnyx-timestamp"] = String(now);
  headers["telnyx-signature-ed25519"] = sign(null, Buffer.from(`${now}|${body}`), key).toString("base64");
} else if (provider === "notifyre") {
  const payload = { ID: values.fax, Reference: values.subject ?? "", Status: values.status ?? "successful", LastModifiedDateUtc: now };
  if (pages !== undefined) payload.Pages = pages;
  body = JSON.stringify({ Event: eventType, Timestamp: now, Payload: payload });
  const v = createHmac("sha256", LOCAL_NOTIFYRE_SECRET).update(`${now}.${body}`).digest("hex");
  headers["Notifyre-Signature"] = `t=${now},v=${v}`;
} else {
  usageError("provider must be telnyx or notifyre");
}

const response = await fetch(`${values.url}/webhooks/${provider}`, { method: "POST", headers, body });
console.log(response.status, await response.text());
