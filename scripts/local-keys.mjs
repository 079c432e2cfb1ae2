// Keys for local development only, matching .dev.vars.example. Never use them anywhere else.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

export const LOCAL_SERVICE_KEY = "tally-local-service-key";
export const LOCAL_TELNYX_PRIVATE_KEY_PKCS8 = "MC4CAQAwBQYDK2VwBCIEIC/zAuWowDSQAoWMZtu9LghK2bX1TqSt2j51cr2Gpry5";
export const LOCAL_NOTIFYRE_SECRET = "tally-local-notifyre-secret";

// A module, not a command (send-webhook.mjs and simulate.ts import it); run on its own it only answers --help.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const USAGE = `Usage: node scripts/local-keys.mjs --help

The local development keys, matching .dev.vars.example, as a module that send-webhook.mjs and
simulate.ts import: the service API key, the Telnyx Ed25519 private key (PKCS#8, base64) and the
Notifyre webhook secret. Run on its own it does nothing. Never use these keys anywhere else.

  -h, --help   this text

Example: import { LOCAL_SERVICE_KEY } from "./local-keys.mjs";`;
  try {
    if (parseArgs({ options: { help: { type: "boolean", short: "h" } } }).values.help) console.log(USAGE);
  } catch (error) {
    console.error(`local-keys.mjs: ${error.message} (see --help)`);
    process.exit(2);
  }
}
