/** One page of a list, and whether rows follow it. */
export interface Page<T> {
  rows: T[];
  more: boolean;
}

/** The page in `rows`, read with a limit of `limit + 1` so that the extra row tells whether more follow. */
export function pageOf<T>(rows: T[], limit: number): Page<T> {
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}
