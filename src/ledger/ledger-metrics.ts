/**
 * Rows written by the ledger's SQLite statements, for the `METRICS_LOG` lines. Wraps the store's
 * `SqlStorage` only when metrics are on, so nothing is kept or counted otherwise. A cursor's
 * `rowsWritten` is final once the cursor is consumed, so they are summed when read, after the
 * transaction.
 */
export class RowsWrittenMeter {
  private cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];

  wrap(sql: SqlStorage): SqlStorage {
    const cursors = this.cursors;
    return new Proxy(sql, {
      get(target, prop) {
        if (prop === "exec") {
          return (query: string, ...bindings: unknown[]) => {
            const cursor = target.exec(query, ...bindings);
            cursors.push(cursor);
            return cursor;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  /** Rows written since the last take. */
  take(): number {
    let rows = 0;
    for (const cursor of this.cursors) rows += cursor.rowsWritten;
    this.cursors.length = 0;
    return rows;
  }
}
