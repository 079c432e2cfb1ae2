import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

export type Database = DrizzleD1Database;

/** The drizzle handle the query helpers here take; drizzle itself stays inside src/db. */
export function database(d1: D1Database): Database {
  return drizzle(d1);
}
