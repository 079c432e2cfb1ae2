import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import type { LedgerRpc } from "../../src/ledger/contract";

export const SERVICE_KEY = env.SERVICE_API_KEY;

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiOptions {
  body?: unknown;
  /** Raw body sent as is (for malformed-input tests). */
  rawBody?: string;
  token?: string | null;
  headers?: Record<string, string>;
}

/** Calls the worker as a client would, through its fetch handler. */
export async function api<T = any>(method: string, path: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? SERVICE_KEY : options.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  const response = await exports.default.fetch(new Request(`http://tally.test${path}`, { method, headers, body }));
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // non-JSON answers (none expected) are returned as text
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export async function userToken(subjectId: string, expiresInSeconds = 3600, secret = env.JWT_SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: subjectId, iat: now, exp: now + expiresInSeconds }, secret, "HS256");
}

export function ledger(subjectId: string): LedgerRpc {
  return env.LEDGER.getByName(subjectId) as unknown as LedgerRpc;
}

/** Runs the subject's pending alarm now, so its outbox reaches D1. */
/**
 * Runs the ledger's flush now, and waits until its outbox is empty: an alarm that fired by itself
 * may still be writing (runDurableObjectAlarm then finds none to run), and a slower history store
 * makes that window wider.
 */
export async function flushLedger(subjectId: string): Promise<void> {
  const stub = env.LEDGER.getByName(subjectId);
  await runDurableObjectAlarm(stub);
  // At most 3 s: tests that make history fail on purpose leave the outbox full.
  for (let waited = 0; waited < 3_000; waited += 20) {
    const pending = await runInDurableObject(stub, (_instance, state) => {
      try {
        return state.storage.sql.exec("SELECT count(*) AS n FROM outbox").one().n;
      } catch {
        return 0; // a ledger never used has no outbox yet
      }
    });
    if (pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await runDurableObjectAlarm(stub);
  }
}

/**
 * Makes every call to the subject's ledger fail, as an unavailable one would: its storage loses a
 * table. Answers the repair.
 */
export async function breakLedger(subjectId: string): Promise<() => Promise<void>> {
  const rename = (from: string, to: string) =>
    // A fresh stub each time: one that saw the object break stays broken.
    runInDurableObject(env.LEDGER.getByName(subjectId), (_i, state) => state.storage.sql.exec(`ALTER TABLE ${from} RENAME TO ${to}`));
  await rename("usage_days", "usage_days_gone");
  return async () => {
    await rename("usage_days_gone", "usage_days");
  };
}

/** Total counted in the subject's ledger for a meter, over all periods, in units. */
export async function counterTotal(subjectId: string, meter: string): Promise<number> {
  const state = await ledger(subjectId).state();
  return state.counters.filter((c) => c.meter === meter).reduce((sum, c) => sum + c.totalE4, 0) / 10_000;
}

let sequence = 0;
/** A subject id no other test uses. */
export function uniqueSubject(prefix = "user"): string {
  sequence += 1;
  return `${prefix}-${sequence}-${crypto.randomUUID().slice(0, 8)}`;
}

export { historyRows } from "./history";
