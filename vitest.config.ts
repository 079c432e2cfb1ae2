import { generateKeyPairSync } from "node:crypto";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** A Telnyx-style Ed25519 key pair made for this run; tests sign deliveries with its private half. */
const telnyxKeys = generateKeyPairSync("ed25519");
const TELNYX_PUBLIC_KEY = telnyxKeys.publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("base64");
const TEST_TELNYX_PRIVATE_KEY = telnyxKeys.privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");

/** Test-only secrets; also put in process.env so wrangler's required-secrets check is satisfied. */
const TEST_SECRETS = {
  SERVICE_API_KEY: "test-service-key",
  JWT_SECRET: "test-jwt-secret",
  TELNYX_PUBLIC_KEY,
  NOTIFYRE_WEBHOOK_SECRET: "test-notifyre-secret",
};
Object.assign(process.env, TEST_SECRETS);

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    test: {
      silent: "passed-only",
      reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      projects: [
        {
          // Everything that touches the worker runs inside workerd against real local D1, DOs and queues.
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ...TEST_SECRETS,
                  TEST_TELNYX_PRIVATE_KEY,
                  ALLOWED_ORIGINS: "https://app.example.com",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            exclude: ["test/node/**"],
            setupFiles: ["./test/setup/apply-migrations.ts"],
          },
        },
        {
          // Tools that need Node itself (file-system based validators, scripts).
          test: { name: "node", environment: "node", include: ["test/node/**/*.test.ts"] },
        },
      ],
    },
  };
});
