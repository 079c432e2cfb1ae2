import type { LedgerEventInput } from "../../src/ledger/contract";

/** A plain counter record for a ledger call, as the record service builds one; `overrides` change any field. */
export function counterInput(subjectId: string, key: string, overrides: Partial<LedgerEventInput> = {}): LedgerEventInput {
  return {
    idempotencyKey: key,
    fingerprint: `fp-${key}`,
    kind: "counter",
    operation: "add",
    subjectId,
    meter: "fax",
    unit: "page",
    amountE4: 10_000,
    occurredAt: Date.now() - 1000,
    dimensions: {},
    metadata: {},
    source: "test",
    ...overrides,
  };
}
