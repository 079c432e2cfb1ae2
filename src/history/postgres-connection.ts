import type { Duplex } from "node:stream";
import { Client } from "pg";
import { CloudflareSocket } from "pg-cloudflare";
import type { PgQuery } from "../db/postgres/query";

/**
 * Runs work on one PostgreSQL connection through Hyperdrive, then closes it. A Worker may not
 * reuse a socket across requests, and Hyperdrive pools the connections to the database, so a
 * connection per call costs a round trip to Hyperdrive, not a new database session.
 */
export async function withPostgres<T>(hyperdrive: Hyperdrive, work: (query: PgQuery) => Promise<T>): Promise<T> {
  // The socket given explicitly: pg's own require() of it may resolve to the non-Workers build. It
  // is the socket pg itself uses on Workers, though not typed as a Node stream.
  const stream = () => new CloudflareSocket(false) as unknown as Duplex;
  const client = new Client({ connectionString: hyperdrive.connectionString, stream });
  // workerd reports the socket closed by end() as an error, which pg re-emits on the client; an
  // error during a query rejects that query, so nothing is lost by ignoring the event itself.
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(async (text, params) => (await client.query(text, params)).rows);
  } finally {
    await client.end().catch(() => {});
  }
}
