import { DomainError } from "../domain/errors";
import { log } from "../http/log";

export const LEDGER_UNAVAILABLE = {
  code: "LEDGER_UNAVAILABLE",
  message: "The subject's ledger did not answer; retrying with the same idempotency key is safe.",
} as const;

/** One ledger call whose failure is LEDGER_UNAVAILABLE (503) instead of an internal error. */
export async function callLedger<T>(call: () => Promise<T>, message: string = LEDGER_UNAVAILABLE.message): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    log("error", "ledger.call_failed", { error: String(cause) });
    throw new DomainError(LEDGER_UNAVAILABLE.code, message);
  }
}
