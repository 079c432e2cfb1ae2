import type { z } from "zod";

export interface FieldIssue {
  /** Dot-separated, e.g. `events.0.amount`; empty for the value as a whole. */
  path: string;
  code: string;
  message: string;
}

/**
 * One issue per offending field: unknown keys each under their own path, and a failed union
 * explained by the alternative that came closest (fewest issues; the first one on a tie).
 */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => flatten(issue, []));
}

function flatten(issue: z.core.$ZodIssue, prefix: PropertyKey[]): FieldIssue[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const alternatives = issue.errors.map((issues) => issues.flatMap((i) => flatten(i, path)));
    return alternatives.reduce((best, cur) => (cur.length < best.length ? cur : best));
  }
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ path: joinPath([...path, key]), code: issue.code, message: `unknown key '${key}'` }));
  }
  return [{ path: joinPath(path), code: issue.code, message: issue.message }];
}

const joinPath = (path: PropertyKey[]) => path.map(String).join(".");
