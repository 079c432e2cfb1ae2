import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `npm pack` as a consumer meets it: the tarball installed into a plain Node project (no network:
 * the package has no dependencies), a strict TypeScript program compiled against its .d.ts files,
 * and the compiled JavaScript run by plain node against a local test double of tally.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
/** The consumer compiles with this repository's TypeScript and Node types: it installs nothing but the tarball. */
const TSC = createRequire(path.join(ROOT, "package.json")).resolve("typescript/bin/tsc");
const TYPE_ROOTS = path.join(ROOT, "node_modules", "@types");

/**
 * The environment less what `npm run` exports to scripts: its `npm_config_local_prefix` alone
 * would point the consumer's `npm install` at this repository.
 */
const npmEnv = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("npm_") && name !== "INIT_CWD"));
const npm = (cwd: string, args: string[]) => run("npm", args, { cwd, env: npmEnv(), maxBuffer: 16 * 1024 * 1024 });

const CONSUMER = `
import assert from "node:assert/strict";
import { paginate, TallyClient, TallyError, type ApiKey, type Recorded } from "tally/client";

const tally = new TallyClient({ baseUrl: process.argv[2]!, token: "svc-key", retryBaseMs: 1 });

// The test double loses the first answer (503): the client retries with the same idempotency key.
const recorded: Recorded = await tally.record({ subjectId: "user_42", meter: "api_call", dimensions: { endpoint: "/v1/forms" } });
const amount: number = recorded.event.amount;

const created = await tally.createApiKey({ name: "billing", scopes: ["usage:read"] });
const keys: ApiKey[] = [];
for await (const key of paginate((cursor) => tally.apiKeys({ includeRevoked: true, cursor }))) keys.push(key);

const refusal = await tally.consume("user_42", "fax", { amount: 3, idempotencyKey: "fax-1" }).catch((e: unknown) => e);
assert.ok(refusal instanceof TallyError);

const csv: string = await tally.exportCsv({ subjectId: "user_42", dimensionColumns: ["endpoint"] });

console.log(JSON.stringify({
  amount,
  status: recorded.status,
  secret: created.secret,
  scopes: created.apiKey.scopes,
  keys: keys.map((k) => k.id),
  refusal: { status: refusal.status, code: refusal.code, requestId: refusal.requestId, details: refusal.details },
  csv,
}));

/** Compiled, never called: each line must be a type error, or the types have gone lax (any). */
export async function misuse(client: TallyClient): Promise<void> {
  // @ts-expect-error an amount is a number
  const text: string = recorded.event.amount;
  // @ts-expect-error not a scope
  await client.createApiKey({ name: "x", scopes: ["usage:delete"] });
  // @ts-expect-error the subject goes first
  await client.consume({ amount: 1 });
  void text;
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: "es2022",
    lib: ["es2022"],
    module: "nodenext",
    moduleResolution: "nodenext",
    strict: true,
    types: ["node"],
    typeRoots: [TYPE_ROOTS],
    outDir: "out",
    // The package's .d.ts files are checked too: a reference to a server module or Workers type fails here.
    skipLibCheck: false,
  },
  files: ["main.ts"],
};

const EVENT = {
  id: "evt_1",
  subjectId: "user_42",
  meter: "api_call",
  unit: "call",
  amount: 1,
  timestamp: "2026-03-01T10:00:00.000Z",
  receivedAt: "2026-03-01T10:00:00.100Z",
  source: "api",
  idempotencyKey: "k",
  dimensions: { endpoint: "/v1/forms" },
  metadata: {},
  voidedAt: null,
  voidReason: null,
  grantDraws: [],
};
const apiKey = (id: string) => ({
  id,
  name: id,
  prefix: "tly_ab",
  scopes: ["usage:read"],
  createdAt: "2026-03-01T10:00:00.000Z",
  expiresAt: null,
  lastUsedAt: null,
  revokedAt: null,
});
const DENIED = { allowed: false, used: 9, held: 0, granted: 0, limit: 10, remaining: 1, overage: false };
const CSV = "id,subjectId,meter\nevt_1,user_42,api_call\n";

interface Received {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/** A stand-in for tally that answers what the consumer calls, and keeps every request. */
function startTestDouble(received: Received[]): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = req.url ?? "";
    received.push({
      method: req.method ?? "",
      url,
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      body: text === "" ? null : JSON.parse(text),
    });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", "x-request-id": "req_1", ...headers });
      res.end(JSON.stringify(body));
    };
    const route = `${req.method} ${url}`;
    if (route === "POST /v1/usage") {
      const first = received.filter((r) => r.url === "/v1/usage").length === 1;
      if (first) send(503, { error: { code: "LEDGER_UNAVAILABLE", message: "try again", requestId: "req_1" } }, { "retry-after": "0" });
      else send(201, { event: EVENT, status: "created" });
    } else if (route === "POST /v1/api-keys") send(201, { apiKey: apiKey("key_new"), secret: "tly_secret" });
    else if (route === "GET /v1/api-keys?includeRevoked=true") send(200, { data: [apiKey("key_1")], nextCursor: "page2" });
    else if (route === "GET /v1/api-keys?includeRevoked=true&cursor=page2") send(200, { data: [apiKey("key_2")], nextCursor: null });
    else if (route === "POST /v1/subjects/user_42/entitlements/fax/consume") {
      send(402, { error: { code: "LIMIT_EXCEEDED", message: "over the limit", requestId: "req_1", details: DENIED } });
    } else if (route === "GET /v1/usage/export.csv?subjectId=user_42&dimensions=endpoint") {
      res.writeHead(200, { "content-type": "text/csv; charset=utf-8" });
      res.end(CSV);
    } else send(404, { error: { code: "NOT_FOUND", message: route, requestId: "req_1" } });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("the tally/client package", () => {
  let work = "";
  let packed: { filename: string; files: { path: string }[] };
  const consumer = () => path.join(work, "consumer");

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "tally-client-package-"));
    const manifest = await readFile(path.join(ROOT, "package.json"), "utf8");
    const { stdout } = await npm(ROOT, ["pack", "--json", "--pack-destination", work]);
    // postpack put the repository's manifest back
    expect(await readFile(path.join(ROOT, "package.json"), "utf8")).toBe(manifest);
    [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as [typeof packed];

    await mkdir(consumer());
    const dependencies = { tally: `file:${path.join(work, packed.filename)}` };
    await writeFile(
      path.join(consumer(), "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module", dependencies }),
    );
    await writeFile(path.join(consumer(), "tsconfig.json"), JSON.stringify(TSCONFIG));
    await writeFile(path.join(consumer(), "main.ts"), CONSUMER);
    await npm(consumer(), ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"]);
  }, 120_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("holds the compiled client and its declarations, and installs with no dependency", async () => {
    const files = packed.files.map((f) => f.path).sort();
    expect(files.filter((f) => !f.startsWith("dist/client/"))).toEqual(["README.md", "package.json"]);
    expect(files).toEqual(expect.arrayContaining(["dist/client/index.js", "dist/client/index.d.ts", "dist/client/tally-client.d.ts"]));
    expect(files.filter((f) => !/\.(js|d\.ts)$/.test(f) && f.startsWith("dist/"))).toEqual([]);

    const installed = path.join(consumer(), "node_modules", "tally");
    const manifest = JSON.parse(await readFile(path.join(installed, "package.json"), "utf8"));
    expect(Object.keys(manifest)).not.toEqual(expect.arrayContaining(["dependencies"]));
    expect(manifest.optionalDependencies).toBeUndefined();
    expect((await readdir(path.join(consumer(), "node_modules"))).filter((n) => !n.startsWith("."))).toEqual(["tally"]);
    // Every import in the shipped files is one of its own.
    for (const file of files.filter((f) => f.startsWith("dist/"))) {
      const text = await readFile(path.join(installed, file), "utf8");
      const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
      expect(
        specifiers.filter((s) => !s!.startsWith("./")),
        file,
      ).toEqual([]);
    }
  });

  it("compiles a strict consumer, and runs it under plain node against a test double", async () => {
    await run(process.execPath, [TSC, "-p", consumer()]).catch((error: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${error.stdout}`);
    });

    const received: Received[] = [];
    const server = await startTestDouble(received);
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { stdout } = await run(process.execPath, [path.join(consumer(), "out", "main.js"), baseUrl], { cwd: consumer() });
      expect(JSON.parse(stdout)).toEqual({
        amount: 1,
        status: "created",
        secret: "tly_secret",
        scopes: ["usage:read"],
        keys: ["key_1", "key_2"],
        refusal: { status: 402, code: "LIMIT_EXCEEDED", requestId: "req_1", details: DENIED },
        csv: CSV,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }

    const key = expect.stringMatching(/^client:[0-9a-f-]{36}$/);
    const recordBody = { subjectId: "user_42", meter: "api_call", dimensions: { endpoint: "/v1/forms" }, idempotencyKey: key };
    const json = "application/json";
    expect(received).toEqual([
      { method: "POST", url: "/v1/usage", authorization: "Bearer svc-key", contentType: json, body: recordBody },
      { method: "POST", url: "/v1/usage", authorization: "Bearer svc-key", contentType: json, body: recordBody },
      {
        method: "POST",
        url: "/v1/api-keys",
        authorization: "Bearer svc-key",
        contentType: json,
        body: { name: "billing", scopes: ["usage:read"] },
      },
      { method: "GET", url: "/v1/api-keys?includeRevoked=true", authorization: "Bearer svc-key", contentType: undefined, body: null },
      {
        method: "GET",
        url: "/v1/api-keys?includeRevoked=true&cursor=page2",
        authorization: "Bearer svc-key",
        contentType: undefined,
        body: null,
      },
      {
        method: "POST",
        url: "/v1/subjects/user_42/entitlements/fax/consume",
        authorization: "Bearer svc-key",
        contentType: json,
        body: { amount: 3, idempotencyKey: "fax-1" },
      },
      {
        method: "GET",
        url: "/v1/usage/export.csv?subjectId=user_42&dimensions=endpoint",
        authorization: "Bearer svc-key",
        contentType: undefined,
        body: null,
      },
    ]);
    const [first, retry] = received as [Received, Received];
    expect((retry.body as { idempotencyKey: string }).idempotencyKey).toBe((first.body as { idempotencyKey: string }).idempotencyKey);
  });
});
