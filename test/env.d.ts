import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** PKCS#8 base64 of the Ed25519 key whose public half is TELNYX_PUBLIC_KEY in tests. */
      TEST_TELNYX_PRIVATE_KEY: string;
      /** Base URL of the loopback webhook receiver (test/setup/webhook-receiver.ts). */
      TEST_RECEIVER_URL: string;
    }
  }
}
