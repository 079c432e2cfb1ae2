import { expect } from "vitest";
import { api, flushLedger, uniqueSubject } from "./api";

/** A new subject on a plan of its own with these entitlements. */
export async function subjectWith(entitlements: Record<string, unknown>, prefix = "credit"): Promise<string> {
  const subjectId = uniqueSubject(prefix);
  const plan = await api("PUT", `/v1/plans/plan-${subjectId}`, { body: { entitlements } });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const subject = await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: `plan-${subjectId}` } });
  expect(subject.status, JSON.stringify(subject.body)).toBe(201);
  return subjectId;
}

export const reserve = (subjectId: string, meter: string, body: unknown, headers?: Record<string, string>) =>
  api("POST", `/v1/subjects/${subjectId}/entitlements/${meter}/reserve`, { body, headers });

export const commit = (subjectId: string, reservationId: string, body?: unknown) =>
  api("POST", `/v1/subjects/${subjectId}/reservations/${reservationId}/commit`, body === undefined ? {} : { body });

export const release = (subjectId: string, reservationId: string) =>
  api("POST", `/v1/subjects/${subjectId}/reservations/${reservationId}/release`);

export const consume = (subjectId: string, meter: string, body: unknown) =>
  api("POST", `/v1/subjects/${subjectId}/entitlements/${meter}/consume`, { body });

export const grant = (subjectId: string, body: unknown) => api("POST", `/v1/subjects/${subjectId}/grants`, { body });

/** The subject's entitlement row for a meter. */
export async function rowOf(subjectId: string, meter: string) {
  const res = await api("GET", `/v1/subjects/${subjectId}/entitlements`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.find((r: { meter: string }) => r.meter === meter);
}

/** The notifications the subject's ledger wrote, once its outbox reached D1. */
export async function notificationsOf(subjectId: string): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  await flushLedger(subjectId);
  const res = await api("GET", `/v1/notifications?subjectId=${subjectId}&limit=200`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
