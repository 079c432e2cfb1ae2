import { beforeAll, describe, expect, it } from "vitest";
import { api, uniqueSubject, userToken } from "../helpers/api";
import { adminKey, auditRows, ROOT } from "../helpers/audit-rows";
import { deliver } from "../helpers/queue";

/** Issue 17: dead letters can be dismissed, and are listed with where they stand. */

const suffix = crypto.randomUUID().slice(0, 8);
const meter = `later_${suffix}`;
const subjectId = uniqueSubject("dl");
const letterIds: Record<string, string> = {};

interface Letter {
  id: string;
  messageId: string;
  status: "open" | "replayed" | "dismissed";
  dismissedAt: string | null;
  replayStatus: string | null;
}

async function listed(query = ""): Promise<Letter[]> {
  const res = await api("GET", `/v1/dead-letters?limit=1000${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

const dismiss = (id: string, token?: string) => api("POST", `/v1/dead-letters/${id}/dismiss`, token === undefined ? {} : { token });
const replay = (id: string) => api("POST", `/v1/dead-letters/${id}/replay`);

beforeAll(async () => {
  const names = ["open", "dismissed", "replayed", "rejected", "page-1", "page-2", "page-3", "twice"];
  // Unknown meter: each message is dead-lettered as UNKNOWN_METER.
  await deliver(
    "usage-events",
    names.map((name) => ({ id: `${name}-${suffix}`, body: { subjectId, meter, amount: 1, idempotencyKey: `${name}-${suffix}` } })),
  );
  for (const letter of await listed()) letterIds[letter.messageId.replace(`-${suffix}`, "")] = letter.id;
  expect(Object.keys(letterIds).sort()).toEqual([...names].sort());
});

describe("POST /v1/dead-letters/{id}/dismiss", () => {
  it("dismisses an open letter, answers it, and the same again when repeated, logging one entry", async () => {
    const id = letterIds.dismissed!;
    const who = await adminKey();
    const first = await dismiss(id, who.secret);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.deadLetter).toMatchObject({ id, status: "dismissed", reason: "UNKNOWN_METER", replayedAt: null });
    expect(Date.parse(first.body.deadLetter.dismissedAt)).toBeGreaterThan(Date.now() - 60_000);
    const again = await dismiss(id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    const rows = await auditRows("dead_letter", id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: "dead_letter.dismiss",
      actor: { type: "api_key", id: who.id },
      requestId: first.headers.get("x-request-id"),
      before: { id, status: "open", dismissedAt: null },
      after: { id, status: "dismissed", dismissedAt: first.body.deadLetter.dismissedAt },
    });
    // The message body is not copied into the log.
    expect(rows[0]!.before).not.toHaveProperty("body");
    expect(rows[0]!.after).not.toHaveProperty("body");
  });

  it("answers 404 for an unknown letter and 400 for a bad id or parameter", async () => {
    const missing = await dismiss("dl_missing");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    expect((await api("POST", `/v1/dead-letters/${"x".repeat(101)}/dismiss`)).status).toBe(400);
    expect((await api("POST", `/v1/dead-letters/${letterIds.open}/dismiss?force=true`)).status).toBe(400);
    expect((await listed()).find((l) => l.id === letterIds.open)?.status).toBe("open");
  });

  it("is for admin keys only", async () => {
    expect((await dismiss(letterIds.open!, await userToken(subjectId))).status).toBe(403);
    const writer = await api("POST", "/v1/api-keys", { body: { name: "writer", scopes: ["usage:write"] } });
    expect((await dismiss(letterIds.open!, writer.body.secret)).status).toBe(403);
    expect((await dismiss(letterIds.open!, "")).status).toBe(401);
  });
});

describe("dead letter status", () => {
  it("is replayed once a replay applied it, stays open after a rejected replay, and a replayed letter is not dismissed", async () => {
    const rejected = await replay(letterIds.rejected!);
    expect(rejected.body.result).toMatchObject({ status: "rejected", reason: "UNKNOWN_METER" });
    expect(rejected.body.deadLetter).toMatchObject({ status: "open", replayStatus: "rejected" });

    await api("PUT", `/v1/meters/${meter}`, { body: { unit: "call" } });
    const applied = await replay(letterIds.replayed!);
    expect(applied.body.result.status).toBe("applied");
    expect(applied.body.deadLetter).toMatchObject({ status: "replayed", replayStatus: "applied", dismissedAt: null });
    const dismissed = await dismiss(letterIds.replayed!);
    expect(dismissed.status).toBe(200);
    expect(dismissed.body.deadLetter).toEqual(applied.body.deadLetter);
    expect((await auditRows("dead_letter", letterIds.replayed!)).map((r) => r.action)).toEqual(["dead_letter.replay"]);

    // A dismissed letter can still be replayed, and then it is replayed.
    await dismiss(letterIds.twice!);
    const late = await replay(letterIds.twice!);
    expect(late.body.deadLetter).toMatchObject({ status: "replayed", dismissedAt: expect.any(String) });
  });

  it("filters the list by status; without one every letter is listed, as before", async () => {
    const all = await listed();
    expect(all).toHaveLength(Object.keys(letterIds).length);
    for (const status of ["open", "replayed", "dismissed"] as const) {
      const only = await listed(`&status=${status}`);
      expect(only.length, status).toBeGreaterThan(0);
      expect(only.every((l) => l.status === status)).toBe(true);
      expect(only.map((l) => l.id)).toEqual(all.filter((l) => l.status === status).map((l) => l.id));
    }
    const byName = (name: string) => all.find((l) => l.id === letterIds[name])!;
    expect(byName("open").status).toBe("open");
    expect(byName("rejected").status).toBe("open");
    expect(byName("dismissed").status).toBe("dismissed");
    expect(byName("replayed").status).toBe("replayed");
  });

  it("pages a filtered list with no gaps or repeats", async () => {
    const open = (await listed("&status=open")).map((l) => l.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: Letter[]; nextCursor: string | null } } = await api(
        "GET",
        `/v1/dead-letters?status=open&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...res.body.data.map((l) => l.id));
      cursor = res.body.nextCursor;
    } while (cursor !== null && seen.length < 100);
    expect(seen).toEqual(open);
  });

  it("answers 400 for an unknown status", async () => {
    for (const query of ["status=closed", "status=", "status=OPEN", "status=open&status=dismissed"]) {
      const res = await api("GET", `/v1/dead-letters?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("POST /v1/dead-letters/{id}/replay in the audit log", () => {
  it("logs dead_letter.replay with the letter before and the result after, once per replay", async () => {
    const id = letterIds["page-1"]!;
    const first = await replay(id);
    expect(first.body.result.status).toBe("applied");
    const second = await replay(id);
    expect(second.body.result.status).toBe("duplicate");
    const rows = await auditRows("dead_letter", id);
    expect(rows.map((r) => r.action)).toEqual(["dead_letter.replay", "dead_letter.replay"]);
    expect(rows[1]).toMatchObject({ actor: ROOT, before: { id, status: "open", replayedAt: null }, after: first.body.result });
    expect(rows[0]).toMatchObject({ before: { id, status: "replayed", replayStatus: "applied" }, after: second.body.result });
    expect(rows[1]!.before).not.toHaveProperty("body");
    expect((await replay("dl_missing")).status).toBe(404);
    expect(await auditRows("dead_letter", "dl_missing")).toEqual([]);
  });
});
