import { database } from "../db/database";
import { listSubjects as subjectRows, type Subject } from "../db/plans";
import { idPrefixRange } from "../domain/id-prefix";
import { pageOf, type Page } from "../domain/page";

export interface SubjectQuery {
  planId: string | null;
  /** A literal start of the id. */
  prefix: string | null;
  afterId: string | null;
  limit: number;
}

/** Subjects with settings, in id order, a page at a time. */
export async function listSubjects(env: Env, query: SubjectQuery): Promise<Page<Subject>> {
  const rows = await subjectRows(database(env.DB), {
    planId: query.planId,
    idRange: query.prefix === null ? null : idPrefixRange(query.prefix),
    afterId: query.afterId,
    limit: query.limit + 1,
  });
  return pageOf(rows, query.limit);
}
