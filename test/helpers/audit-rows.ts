import { expect } from "vitest";
import { api } from "./api";

export interface AuditRow {
  id: string;
  at: string;
  actor: { type: "root" | "api_key"; id: string | null };
  action: string;
  target: { type: string; id: string };
  before: any;
  after: any;
  requestId: string | null;
}

/** The audit log's entries about one target, newest first, read with the root key. */
export async function auditRows(targetType: string, targetId: string): Promise<AuditRow[]> {
  const res = await api(
    "GET",
    `/v1/audit-log?targetType=${encodeURIComponent(targetType)}&targetId=${encodeURIComponent(targetId)}&limit=500`,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

/** An API key holding only `admin`, for writes whose audit entry must name it. */
export async function adminKey(): Promise<{ id: string; secret: string }> {
  const res = await api("POST", "/v1/api-keys", { body: { name: `audit-${crypto.randomUUID()}`, scopes: ["admin"] } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.apiKey.id, secret: res.body.secret };
}

export const ROOT = { type: "root", id: null } as const;
