import { and, desc, eq, getTableColumns, lt, or, sql, type SQL } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { DeadLetterStatus } from "../domain/dead-letters";
import { deadLetters } from "./schema";

export type DeadLetterRow = typeof deadLetters.$inferSelect & { status: DeadLetterStatus };

export interface NewDeadLetter {
  queue: string;
  messageId: string;
  reason: string;
  detail: string;
  attempts: number;
  body: unknown;
}

/** The status of DEAD_LETTER_STATUSES, in SQL, so that lists filter on what they answer. */
const status: SQL<DeadLetterStatus> = sql<DeadLetterStatus>`CASE
  WHEN ${deadLetters.replayedAt} IS NOT NULL AND ${deadLetters.replayStatus} IN ('applied', 'duplicate') THEN 'replayed'
  WHEN ${deadLetters.dismissedAt} IS NOT NULL THEN 'dismissed'
  ELSE 'open' END`;
const withStatus = { ...getTableColumns(deadLetters), status };

/** Stores dead letters in one D1 batch (one transaction): all of them or none. */
export async function insertDeadLetters(d1: D1Database, letters: NewDeadLetter[], nowMs: number): Promise<void> {
  await d1.batch(letters.map((letter) => insertDeadLetterStatement(d1, letter, nowMs)));
}

function insertDeadLetterStatement(d1: D1Database, letter: NewDeadLetter, nowMs: number): D1PreparedStatement {
  return d1
    .prepare("INSERT INTO dead_letters (id, queue, message_id, reason, detail, attempts, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(
      `dl_${crypto.randomUUID().replaceAll("-", "")}`,
      letter.queue,
      letter.messageId,
      letter.reason,
      letter.detail.slice(0, 2000),
      letter.attempts,
      JSON.stringify(letter.body) ?? "null",
      nowMs,
    );
}

/** Newest first, after the cursor row; only those in `only` when it is given. */
export async function listDeadLetters(
  db: DrizzleD1Database,
  limit: number,
  before?: { at: number; id: string },
  only?: DeadLetterStatus,
): Promise<DeadLetterRow[]> {
  return db
    .select(withStatus)
    .from(deadLetters)
    .where(
      and(
        before
          ? or(lt(deadLetters.createdAt, before.at), and(eq(deadLetters.createdAt, before.at), lt(deadLetters.id, before.id)))
          : undefined,
        only === undefined ? undefined : eq(status, only),
      ),
    )
    .orderBy(desc(deadLetters.createdAt), desc(deadLetters.id))
    .limit(limit);
}

export async function findDeadLetter(db: DrizzleD1Database, id: string): Promise<DeadLetterRow | null> {
  const [row] = await db.select(withStatus).from(deadLetters).where(eq(deadLetters.id, id)).limit(1);
  return row ?? null;
}

/** Notes a replay's outcome; answers the letter as it is now. */
export async function markReplayed(db: DrizzleD1Database, id: string, replayStatus: string, nowMs: number): Promise<DeadLetterRow | null> {
  const [row] = await db.update(deadLetters).set({ replayedAt: nowMs, replayStatus }).where(eq(deadLetters.id, id)).returning(withStatus);
  return row ?? null;
}

/** Dismisses an open letter, once (one conditional statement); null when this call changed nothing. */
export async function dismissDeadLetter(db: DrizzleD1Database, id: string, nowMs: number): Promise<DeadLetterRow | null> {
  const [row] = await db
    .update(deadLetters)
    .set({ dismissedAt: nowMs })
    .where(and(eq(deadLetters.id, id), eq(status, "open")))
    .returning(withStatus);
  return row ?? null;
}
