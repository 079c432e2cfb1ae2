import type { HistoryWriterRpc } from "./history-writer";

/** Writers per D1 database unless HISTORY_WRITERS says otherwise (each Durable Object serves ~1,000 calls/s). */
const DEFAULT_WRITERS = 4;

/** The writer a subject's ledger flushes through: always the same one for a subject. */
export function historyWriterFor(env: Pick<Env, "HISTORY_WRITER" | "HISTORY_WRITERS">, subjectId: string): HistoryWriterRpc {
  return env.HISTORY_WRITER.getByName(
    `history-writer-${writerIndex(subjectId, writerCount(env.HISTORY_WRITERS))}`,
  ) as unknown as HistoryWriterRpc;
}

export function writerCount(setting: string | undefined): number {
  const n = Number(setting);
  return Number.isInteger(n) && n >= 1 && n <= 256 ? n : DEFAULT_WRITERS;
}

/** FNV-1a over the UTF-16 code units: stable across isolates and deploys. */
export function writerIndex(subjectId: string, writers: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < subjectId.length; i += 1) {
    hash ^= subjectId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % writers;
}
