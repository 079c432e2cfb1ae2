/**
 * The next page of subject ids after `after`, in id order: every subject with settings or usage
 * (with usage since `activeSince`, when given).
 */
export async function subjectIdsPage(d1: D1Database, after: string, limit: number, activeSince?: number): Promise<string[]> {
  const { results } = await d1
    .prepare(
      `SELECT id FROM (
         SELECT id FROM subjects WHERE ?3 IS NULL
         UNION SELECT subject_id AS id FROM subject_activity WHERE ?3 IS NULL OR last_event_at >= ?3
       ) WHERE id > ?1 ORDER BY id LIMIT ?2`,
    )
    .bind(after, limit, activeSince ?? null)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}
