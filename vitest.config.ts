import { generateKeyPairSync } from "node:crypto";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { startWebhookReceiver } from "./test/setup/webhook-receiver";

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

/**
 * The history conformance suite: what reads or writes history (lists, cursors, summaries with their
 * brute-force property tests, CSV, voids and amends, replays, recalculation, rollover), run once more
 * against PostgreSQL when TALLY_TEST_POSTGRES_URL names a migrated database (`npm run test:postgres`).
 */
const HISTORY_CONFORMANCE = [
  "test/reports/*.test.ts",
  "test/routes/usage-read.test.ts",
  "test/routes/usage-write.test.ts",
  "test/routes/cursors.test.ts",
  "test/routes/usage-corrections.test.ts",
  "test/routes/subjects.test.ts",
  "test/routes/entitlements.test.ts",
  "test/cron/rollover.test.ts",
  "test/ledger/replays.test.ts",
  "test/history/history-store.test.ts",
];
const postgresUrl = process.env.TALLY_TEST_POSTGRES_URL;

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const receiver = await startWebhookReceiver();
  const workersPlugin = (vars: Record<string, string>, hyperdrives: Record<string, string> = {}) =>
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          ...TEST_SECRETS,
          TEST_TELNYX_PRIVATE_KEY,
          TEST_RECEIVER_URL: receiver.url,
          ALLOWED_ORIGINS: "https://app.example.com",
          // The tests' webhook receiver listens on 127.0.0.1.
          WEBHOOK_ALLOW_LOOPBACK: "true",
          ...vars,
        },
        hyperdrives,
      },
    });
  return {
    test: {
      silent: "passed-only",
      reporters: ["default", "json"],
      outputFile: { json: "test-results/vitest.json" },
      testTimeout: 60_000,
      hookTimeout: 60_000,
      projects: [
        {
          // Everything that touches the worker runs inside workerd against real local D1, DOs and queues.
          plugins: [workersPlugin({})],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            exclude: ["test/node/**", "test/browser/**"],
            setupFiles: ["./test/setup/apply-migrations.ts"],
          },
        },
        ...(postgresUrl
          ? [
              {
                // The same tests with history in PostgreSQL, reached through a local Hyperdrive binding.
                plugins: [workersPlugin({ HISTORY_BACKEND: "postgres" }, { HISTORY_DB: postgresUrl })],
                test: {
                  name: "workers-postgres",
                  include: HISTORY_CONFORMANCE,
                  // One PostgreSQL database for all files (D1 is one per file): a file at a time, each on emptied tables.
                  fileParallelism: false,
                  setupFiles: ["./test/setup/apply-migrations.ts", "./test/setup/empty-postgres-history.ts"],
                },
              },
            ]
          : []),
        {
          // Tools that need Node itself (file-system based validators, scripts).
          test: { name: "node", environment: "node", include: ["test/node/**/*.test.ts"] },
        },
        {
          // Real Chromium against `wrangler dev`: `npm run test:browser` (needs Debian's chromium).
          test: {
            name: "browser",
            environment: "node",
            include: ["test/browser/**/*.test.ts"],
            testTimeout: 120_000,
            hookTimeout: 240_000,
          },
        },
      ],
    },
  };
});
