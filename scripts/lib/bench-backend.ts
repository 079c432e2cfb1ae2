// Where the bench keeps history: D1 (the default) or a local PostgreSQL (`npm run bench -- --backend postgres`).
// Everything else the bench does is the same for both.
import { execFileSync } from "node:child_process";
import pg from "pg";
import { d1ExecuteArgs, root, wrangler } from "./local-worker";
import { localClusterPids, localPostgres, migratePostgres, postgresHistoryBytes, postgresWranglerConfig } from "./local-postgres";
import { readFileSync } from "node:fs";
import { CLK_TCK } from "./proc-cpu";

export interface BenchBackend {
  name: "d1" | "postgres";
  /** What startLocalWorker needs to serve with this backend. */
  worker: { configPath?: string; vars: Record<string, string> };
  /** Writes `size` events of meter bench_summary over 28 days from monthStart straight into history. */
  seedSummaryHistory(state: string, size: number, monthStart: number): Promise<void>;
  /** PostgreSQL's bytes of history, or null on D1 (whose bytes the D1 file gives). */
  historyBytes(): Promise<number | null>;
  /** CPU time (µs) the PostgreSQL server has spent so far, or null on D1 (whose work runs inside workerd). */
  serverCpuUs(): number | null;
}

const SUMMARY_EVENTS = (size: number, monthStart: number) => `
  'evt_bench_' || n AS id, 'm-' || (n % 2000) AS subject, 10000 * (1 + n % 5) AS amount,
  ${monthStart} + (n * 2591) % ${28 * 86_400_000} AS at, 'S' || (n % 20) AS school
  FROM generate_series(0::bigint, ${size - 1}) AS n`;

export function d1Backend(): BenchBackend {
  return {
    name: "d1",
    worker: { vars: {} },
    async seedSummaryHistory(state, size, monthStart) {
      execFileSync(
        wrangler,
        d1ExecuteArgs(
          state,
          `WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ${size - 1})
           INSERT INTO usage_events (id, subject_id, meter, unit, amount_e4, operation, occurred_at, received_at, source, dimensions, metadata)
           SELECT 'evt_bench_' || n, 'm-' || (n % 2000), 'bench_summary', 'call', 10000 * (1 + n % 5), 'add',
                  ${monthStart} + (n * 2591) % ${28 * 86_400_000}, ${monthStart}, 'bench', json_object('schoolId', 'S' || (n % 20)), '{}'
           FROM seq`,
        ),
        { cwd: root, stdio: "ignore" },
      );
    },
    historyBytes: async () => null,
    serverCpuUs: () => null,
  };
}

/** A fresh database "tally_bench" on the local PostgreSQL (or TALLY_POSTGRES_URL's server), migrated. */
export async function postgresBackend(): Promise<BenchBackend> {
  const url = await localPostgres("tally_bench", { fresh: true });
  await migratePostgres(url);
  return {
    name: "postgres",
    worker: { configPath: postgresWranglerConfig(url), vars: { HISTORY_BACKEND: "postgres" } },
    async seedSummaryHistory(_state, size, monthStart) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query("SELECT tally_ensure_month_partitions($1, $2)", [monthStart, monthStart + 28 * 86_400_000]);
        await client.query(`INSERT INTO usage_events (id, subject_id, meter, amount_e4, operation, occurred_at, received_at, dimensions, event)
          SELECT id, subject, 'bench_summary', amount, 'add', at, ${monthStart}, jsonb_build_object('schoolId', school),
                 json_build_object('id', id, 'subjectId', subject, 'meter', 'bench_summary', 'unit', 'call', 'amountE4', amount,
                   'operation', 'add', 'occurredAt', at, 'receivedAt', ${monthStart}, 'source', 'bench', 'idempotencyKey', null,
                   'dimensions', json_build_object('schoolId', school), 'metadata', '{}'::json)::text
          FROM (SELECT ${SUMMARY_EVENTS(size, monthStart)}) AS events`);
        // Written around the history writer, so the rollups are folded in afterwards, as a migration would.
        await client.query("SELECT tally_rebuild_rollups()");
        await client.query("ANALYZE");
      } finally {
        await client.end();
      }
    },
    historyBytes: () => postgresHistoryBytes(url),
    serverCpuUs: () => (clusterTicks() * 1_000_000) / CLK_TCK,
  };
}

/**
 * CPU ticks of the local cluster: the server process, the backends it has reaped (each connection
 * has one, gone once it closes: its time is in the server's cutime and cstime) and those still open.
 */
function clusterTicks(): number {
  const [postmaster, ...live] = localClusterPids();
  if (postmaster === undefined) return 0;
  const fields = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat
        .slice(stat.lastIndexOf(")") + 2)
        .split(" ")
        .map(Number);
    } catch {
      return [];
    }
  };
  const own = fields(postmaster);
  const reaped = (own[11] ?? 0) + (own[12] ?? 0) + (own[13] ?? 0) + (own[14] ?? 0);
  return live.reduce((sum, pid) => {
    const f = fields(pid);
    return sum + (f[11] ?? 0) + (f[12] ?? 0);
  }, reaped);
}
