import { env } from "cloudflare:workers";

export interface RecordedStatement {
  sql: string;
  params: unknown[];
}

/**
 * A D1 binding that runs every statement on the real one and remembers each statement's SQL and
 * parameters, so a test can ask SQLite how it plans exactly what the code sends.
 */
export function recordingD1(d1: D1Database = env.DB): { d1: D1Database; statements: RecordedStatement[] } {
  const statements: RecordedStatement[] = [];
  const recorder = new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          const entry: RecordedStatement = { sql, params: [] };
          statements.push(entry);
          const statement = target.prepare(sql);
          const bind = statement.bind.bind(statement);
          statement.bind = (...params: unknown[]) => {
            entry.params = params;
            return bind(...params);
          };
          return statement;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1: recorder, statements };
}

/** SQLite's plan for a statement, one `detail` line per step (e.g. `SEARCH usage_events USING INDEX …`). */
export async function queryPlan(statement: RecordedStatement, d1: D1Database = env.DB): Promise<string[]> {
  const { results } = await d1
    .prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
    .bind(...statement.params)
    .all<{ detail: string }>();
  return results.map((r) => r.detail);
}
