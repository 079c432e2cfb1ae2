/** One parameterised PostgreSQL statement ($1, $2, … placeholders) and its rows. */
export type PgQuery = <Row = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<Row[]>;

/** Appends a value to a statement's parameters and answers its placeholder. */
export function parameters(): { values: unknown[]; bind: (value: unknown) => string } {
  const values: unknown[] = [];
  return { values, bind: (value) => `$${values.push(value)}` };
}

/** Runs work in one transaction: all of it or none. */
export async function inTransaction<T>(query: PgQuery, work: () => Promise<T>): Promise<T> {
  await query("BEGIN");
  try {
    const result = await work();
    await query("COMMIT");
    return result;
  } catch (error) {
    await query("ROLLBACK").catch(() => {});
    throw error;
  }
}
