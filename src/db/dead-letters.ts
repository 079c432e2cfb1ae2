import { desc, eq, lt, or, and } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { deadLetters } from "./schema";

export type DeadLetterRow = typeof deadLetters.$inferSelect;

export interface NewDeadLetter {
  queue: string;
  messageId: string;
  reason: string;
  detail: string;
  attempts: number;
  body: unknown;
}

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

export async function listDeadLetters(db: DrizzleD1Database, limit: number, before?: { at: number; id: string }) {
  return db
    .select()
    .from(deadLetters)
    .where(
      before
        ? or(lt(deadLetters.createdAt, before.at), and(eq(deadLetters.createdAt, before.at), lt(deadLetters.id, before.id)))
        : undefined,
    )
    .orderBy(desc(deadLetters.createdAt), desc(deadLetters.id))
    .limit(limit);
}

export async function findDeadLetter(db: DrizzleD1Database, id: string): Promise<DeadLetterRow | null> {
  const [row] = await db.select().from(deadLetters).where(eq(deadLetters.id, id)).limit(1);
  return row ?? null;
}

export async function markReplayed(db: DrizzleD1Database, id: string, status: string, nowMs: number): Promise<void> {
  await db.update(deadLetters).set({ replayedAt: nowMs, replayStatus: status }).where(eq(deadLetters.id, id));
}
