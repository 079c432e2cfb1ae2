import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layering of DESIGN §8 and the house rules, checked on the source text: edges (routes,
 * queue consumers, cron, provider webhooks, HTTP middleware) reach D1 and the ledgers only
 * through src/services; every D1 statement is in src/db; src/domain depends on nothing but
 * itself and packages.
 */

const SRC = path.resolve(import.meta.dirname, "../../src");

/** Folders that validate, authorise, call a service and map its result. */
const EDGES = ["routes", "queue", "cron", "webhooks", "http"];

interface Import {
  /** What the file wrote: "../db/meters", "drizzle-orm/d1". */
  spec: string;
  /** For a relative import, the module it names, relative to src/ ("db/meters"); else null. */
  source: string | null;
  typeOnly: boolean;
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string, text: string): Import[] {
  const imported = (spec: string, typeOnly: boolean): Import => ({
    spec,
    source: spec.startsWith(".") ? path.posix.join(path.posix.dirname(file), spec) : null,
    typeOnly,
  });
  return [
    ...[...text.matchAll(IMPORT)].map((m) => imported(m[3]!, m[2] !== undefined)),
    ...[...text.matchAll(DYNAMIC_IMPORT)].map((m) => imported(m[1]!, false)),
  ];
}

/**
 * The text without comments that start a line, so that prose about `.prepare(` does not count
 * (and a string such as "/v1/*" does not open a comment).
 */
function code(text: string): string {
  return text.replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "");
}

/** Whether an import names src/<folder> or a module in it. */
const inFolder = (i: Import, folder: string) => i.source !== null && (i.source === folder || i.source.startsWith(`${folder}/`));
const isPackage = (i: Import, name: string) => i.source === null && (i.spec === name || i.spec.startsWith(`${name}/`));

/** The D1 side of history: only the HistoryStore's D1 backend (src/history) and src/db use them. */
const HISTORY_MODULES = ["db/usage-events", "db/usage-summary", "db/usage-rollups", "db/history-days", "db/history-archive"];

/** Every rule broken by `files` (paths relative to src/, posix), as "file: what". */
function violations(files: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [file, raw] of files) {
    const text = code(raw);
    const folder = file.split("/")[0]!;
    const imports = importsOf(file, text);
    const report = (what: string) => found.push(`${file}: ${what}`);

    if (folder !== "db" && folder !== "history") {
      for (const i of imports) {
        if (HISTORY_MODULES.includes(i.source ?? "") && !i.typeOnly)
          report(`reads or writes history past the HistoryStore (src/${i.source})`);
      }
    }

    if (EDGES.includes(folder)) {
      for (const i of imports) {
        if (inFolder(i, "history") && !i.typeOnly) report(`imports src/${i.source}; call a service`);
        if (inFolder(i, "db") && !i.typeOnly) report(`imports a value from src/${i.source}; call a service`);
        if (inFolder(i, "ledger") && !(i.typeOnly && i.source === "ledger/contract")) {
          report(`imports src/${i.source}; only \`import type\` of src/ledger/contract is allowed here`);
        }
      }
    }

    if (folder === "domain") {
      for (const i of imports) if (i.source !== null && !inFolder(i, "domain")) report(`src/domain imports ${i.spec}`);
    }

    if (folder === "client") {
      for (const i of imports) {
        if (!inFolder(i, "client")) report(`the client imports ${i.spec}; it ships alone as tally/client, with no dependency`);
      }
    }

    if (folder === "services") {
      for (const i of imports) {
        if (isPackage(i, "hono") || isPackage(i, "@hono") || (inFolder(i, "http") && i.source !== "http/log")) {
          report(`a service imports ${i.spec}; services know nothing of HTTP`);
        }
        if (["routes", "queue", "cron"].some((f) => inFolder(i, f))) report(`a service imports src/${i.source}, a layer above it`);
      }
    }

    if (folder === "db") {
      for (const i of imports) if (i.source !== null && !inFolder(i, "db") && !inFolder(i, "domain")) report(`src/db imports ${i.spec}`);
    }

    if (folder !== "db") {
      for (const i of imports.filter((i) => !i.typeOnly)) {
        if (isPackage(i, "drizzle-orm")) report(`imports ${i.spec}; drizzle queries belong in src/db`);
        if (i.source === "db/schema") report("imports the drizzle tables; queries belong in src/db");
      }
      if (/\.\s*prepare\s*\(/.test(text)) report("a D1 statement (.prepare) outside src/db");
      if (/\bsql\s*`/.test(text)) report("a sql`…` template outside src/db");
      // The history writer runs statements that src/db builds, in one D1 batch (one transaction).
      if (folder !== "history" && /\.\s*batch\s*\(/.test(text)) report("a D1 batch outside src/db");
    }

    if (file !== "ledger/ledger-client.ts" && !file.endsWith(".d.ts")) {
      if (/\.\s*LEDGER\b/.test(text)) report("reaches the LEDGER binding; use ledgerFor (src/ledger/ledger-client.ts)");
      if (folder !== "services" && imports.some((i) => i.source === "ledger/ledger-client" && !i.typeOnly)) {
        report("calls the ledger stub; only src/services may");
      }
    }
  }
  return found;
}

function sourceTree(): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(SRC, { recursive: true, encoding: "utf8" })) {
    if (!entry.endsWith(".ts")) continue;
    const file = entry.split(path.sep).join("/");
    files.set(file, readFileSync(path.join(SRC, entry), "utf8"));
  }
  return files;
}

describe("architecture", () => {
  it("reads the whole source tree", () => {
    const files = [...sourceTree().keys()];
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain("routes/usage-write.ts");
    expect(files).toContain("services/record-usage.ts");
  });

  it("the source tree keeps every rule", () => {
    expect(violations(sourceTree())).toEqual([]);
  });

  it("catches a D1 query put back in a route", () => {
    const route = `import { drizzle } from "drizzle-orm/d1";
import { meters } from "../db/schema";
export async function handler(c) {
  await drizzle(c.env.DB).select().from(meters);
  await c.env.DB.prepare("SELECT 1").run();
}`;
    expect(violations(new Map([["routes/meters.ts", route]]))).toEqual([
      "routes/meters.ts: imports a value from src/db/schema; call a service",
      "routes/meters.ts: imports drizzle-orm/d1; drizzle queries belong in src/db",
      "routes/meters.ts: imports the drizzle tables; queries belong in src/db",
      "routes/meters.ts: a D1 statement (.prepare) outside src/db",
    ]);
  });

  it("catches edges calling src/db or the ledger, and services that know HTTP", () => {
    const files = new Map([
      [
        "queue/x.consumer.ts",
        `import { insertDeadLetters } from "../db/dead-letters";\nimport { ledgerFor } from "../ledger/ledger-client";`,
      ],
      ["cron/x.ts", `import type { LedgerState } from "../ledger/subject-ledger";\nawait env.DB.batch([]);\nenv.LEDGER.getByName("s");`],
      [
        "services/x.ts",
        `import type { Context } from "hono";\nimport { requireService } from "../http/auth";\nimport { runTask } from "../cron/tasks";`,
      ],
      ["domain/x.ts", `import { log } from "../http/log";`],
      ["webhooks/x.ts", "const q = sql`SELECT 1`;"],
      ["ledger/x.ts", `import { gaugeMoves } from "../db/history-days";\nimport type { HistoryFilter } from "../db/usage-events";`],
      ["routes/x.ts", `import { historyStore } from "../history/history-store";`],
      ["client/x.ts", `import type { EventSchema } from "../routes/schemas";\nimport { z } from "zod";`],
    ]);
    expect(violations(files)).toEqual([
      "queue/x.consumer.ts: imports a value from src/db/dead-letters; call a service",
      "queue/x.consumer.ts: imports src/ledger/ledger-client; only `import type` of src/ledger/contract is allowed here",
      "queue/x.consumer.ts: calls the ledger stub; only src/services may",
      "cron/x.ts: imports src/ledger/subject-ledger; only `import type` of src/ledger/contract is allowed here",
      "cron/x.ts: a D1 batch outside src/db",
      "cron/x.ts: reaches the LEDGER binding; use ledgerFor (src/ledger/ledger-client.ts)",
      "services/x.ts: a service imports hono; services know nothing of HTTP",
      "services/x.ts: a service imports ../http/auth; services know nothing of HTTP",
      "services/x.ts: a service imports src/cron/tasks, a layer above it",
      "domain/x.ts: src/domain imports ../http/log",
      "webhooks/x.ts: a sql`…` template outside src/db",
      "ledger/x.ts: reads or writes history past the HistoryStore (src/db/history-days)",
      "routes/x.ts: imports src/history/history-store; call a service",
      "client/x.ts: the client imports ../routes/schemas; it ships alone as tally/client, with no dependency",
      "client/x.ts: the client imports zod; it ships alone as tally/client, with no dependency",
    ]);
  });

  it("allows what the rules allow", () => {
    const files = new Map([
      [
        "routes/x.ts",
        `import type { EntitlementSnapshot } from "../ledger/contract";\nimport type { Meter } from "../db/meters";\nimport { listMeters } from "../services/list-meters";`,
      ],
      ["ledger/x.ts", `this.sql.exec("SELECT 1");\nconst m = /a/.exec(s);`],
      ["history/x.ts", "await env.DB.batch(statements);"],
      ["domain/x.ts", `import { z } from "zod";\nimport { createHash } from "node:crypto";\nimport { toE4 } from "./amount";`],
      [
        "services/x.ts",
        `import { log } from "../http/log";\nimport { ledgerFor } from "../ledger/ledger-client";\nimport { database } from "../db/database";`,
      ],
      ["http/x.ts", '// a comment may say env.DB.prepare(\n/** and so may env.DB.batch( */\napp.use("/v1/*", limit);'],
      ["client/x.ts", `import type { Page } from "./types.js";\nexport { paginate } from "./tally-client.js";`],
    ]);
    expect(violations(files)).toEqual([]);
  });
});
