import { database } from "../db/database";
import { findSubject, type Subject } from "../db/plans";
import { DomainError } from "../domain/errors";

export async function getSubject(env: Env, subjectId: string): Promise<Subject> {
  const subject = await findSubject(database(env.DB), subjectId);
  if (!subject) throw new DomainError("NOT_FOUND", "No settings for this subject (it uses no plan).");
  return subject;
}
