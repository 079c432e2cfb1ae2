import { env } from "cloudflare:workers";
import { withPostgres } from "../../src/history/postgres-connection";

// Each test file starts on empty history, as each gets its own D1 in the workers project.
await withPostgres(env.HISTORY_DB!, (query) =>
  query(
    `TRUNCATE usage_events, usage_rollup_slots, usage_rollup_dimension_slots, usage_rollup_subject_days,
       usage_rollup_dimension_subject_days`,
  ),
);
