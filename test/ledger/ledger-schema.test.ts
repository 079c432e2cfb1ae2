import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LEDGER_SCHEMA_VERSION } from "../../src/ledger/ledger-schema";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { uniqueSubject } from "../helpers/api";

/** A ledger as version 2 left it: counters per configured period. */
const V2_SCHEMA = `
CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE counters (meter TEXT NOT NULL, period_start INTEGER NOT NULL, period_end INTEGER NOT NULL, total_e4 INTEGER NOT NULL DEFAULT 0,
  event_count INTEGER NOT NULL DEFAULT 0, peak_e4 INTEGER NOT NULL DEFAULT 0, closed_at INTEGER, PRIMARY KEY (meter, period_start));
CREATE TABLE gauges (meter TEXT PRIMARY KEY, level_e4 INTEGER NOT NULL);
CREATE TABLE fired_thresholds (meter TEXT NOT NULL, period_start INTEGER NOT NULL, threshold INTEGER NOT NULL, PRIMARY KEY (meter, period_start, threshold));
CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL);
`;

const JAN = Date.UTC(2026, 0, 1);
const FEB = Date.UTC(2026, 1, 1);
const MAR = Date.UTC(2026, 2, 1);

describe("ledger schema upgrade from per-period counters (v2 → v4)", () => {
  it("keeps every period's total, closed periods, gauge levels and fired thresholds", async () => {
    const subjectId = uniqueSubject("upgrade");
    const result = await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => {
      const sql = state.storage.sql;
      for (const table of [
        "usage_days",
        "closed_periods",
        "voided_events",
        "reservations",
        "grants",
        "grant_draws",
        "fired_balance_alerts",
        "fired_thresholds",
        "gauges",
        "outbox",
        "idempotency_keys",
        "ledger_meta",
      ]) {
        sql.exec(`DROP TABLE IF EXISTS ${table}`);
      }
      sql.exec(V2_SCHEMA);
      const config = {
        planId: "p",
        billingAnchorDay: null,
        entitlements: {
          fax: { limitE4: 100_000, period: "month", enforcement: "hard", thresholds: [80, 100] },
          lifetime: { limitE4: 50_000, period: "none", enforcement: "hard", thresholds: [80] },
        },
      };
      sql.exec(
        "INSERT INTO ledger_meta VALUES ('schema_version', '2'), ('subject_id', ?), ('config', ?)",
        subjectId,
        JSON.stringify(config),
      );
      sql.exec(
        `INSERT INTO counters VALUES ('fax', ?1, ?2, 70000, 3, 40000, 1000), ('fax', ?2, ?3, 20000, 1, 20000, NULL),
           ('lifetime', 0, 9007199254740991, 45000, 9, 10000, NULL), ('storage', ?2, ?3, 70000, 2, 90000, NULL)`,
        JAN,
        FEB,
        MAR,
      );
      sql.exec("INSERT INTO gauges VALUES ('storage', 70000)");
      sql.exec("INSERT INTO fired_thresholds VALUES ('fax', ?, 80), ('lifetime', 0, 80)", JAN);

      const store = new LedgerStore(sql);
      store.migrate();
      const again = () => {
        store.migrate();
        return store.getMeta("schema_version");
      };
      const used = (meter: string, at: number) => store.usedE4(meter, "counter", store.windowAt(meter, at)) / 10_000;
      return {
        version: store.getMeta("schema_version"),
        tables: sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
          .toArray()
          .map((r) => r.name),
        january: used("fax", JAN + 5),
        february: used("fax", FEB + 5),
        lifetime: used("lifetime", MAR + 5),
        storage: store.gaugeLevel("storage"),
        closed: store.closed.spans("fax"),
        fired: sql.exec("SELECT meter, period_start, limit_e4, threshold FROM fired_thresholds ORDER BY meter").toArray(),
        rebuild: store.getMeta("rebuild_all_days"),
        again: again(),
      };
    });
    expect(result).toEqual({
      version: String(LEDGER_SCHEMA_VERSION),
      tables: expect.arrayContaining(["closed_periods", "fired_thresholds", "usage_days", "reservations", "grants", "grant_draws"]),
      january: 7,
      february: 2,
      lifetime: 4.5,
      storage: 70_000,
      closed: [{ start: JAN, end: FEB }],
      fired: [
        { meter: "fax", period_start: JAN, limit_e4: 100_000, threshold: 80 },
        { meter: "lifetime", period_start: 0, limit_e4: 50_000, threshold: 80 },
      ],
      rebuild: "1",
      again: String(LEDGER_SCHEMA_VERSION),
    });
    expect(result.tables).not.toContain("counters");
  });
});
