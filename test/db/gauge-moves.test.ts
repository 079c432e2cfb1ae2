import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { gaugeMoves } from "../../src/db/history-days";
import { insertEventsStatement } from "../../src/db/usage-events";
import { uniqueSubject } from "../helpers/api";

it("gauge moves come in the ledger's order: rows from before the sequence first (rowid order), then by seq whatever the rowid", async () => {
  const subjectId = uniqueSubject("moves");
  const at = Date.now() - 60_000;
  const move = (n: number, operation: string, amount: number, seq?: number) => ({
    id: `evt_moves_${subjectId}_${n}`,
    ...(seq === undefined ? {} : { seq }),
    subjectId,
    meter: "storage",
    unit: "byte",
    amountE4: amount * 10_000,
    operation,
    occurredAt: at,
    receivedAt: at,
    source: "test",
    idempotencyKey: null,
    dimensions: {},
    metadata: {},
  });
  // Written in this rowid order: two moves from before the sequence, then sequenced ones out of order.
  const rows = [move(1, "set", 10), move(2, "add", 1), move(5, "remove", 4, 9), move(3, "add", 2, 4), move(4, "add", 3, 7)];
  for (const row of rows) await insertEventsStatement(env.DB, JSON.stringify([row])).run();
  const moves = await gaugeMoves(env.DB, subjectId, ["storage"]);
  expect(moves.map((m) => [m.operation, m.amountE4 / 10_000])).toEqual([
    ["set", 10],
    ["add", 1],
    ["add", 2],
    ["add", 3],
    ["remove", 4],
  ]);
});
