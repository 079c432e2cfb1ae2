import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiKeyCache, type VerifiedKey } from "../../src/domain/api-key-cache";

const OPTIONS = { freshMs: 20_000, maxAgeMs: 45_000, maxEntries: 3 };

/** A clock, a loader that stamps each key with the time it was read, and the background work queued. */
function harness() {
  let now = 1_000_000;
  const loads: string[] = [];
  const queued: Promise<unknown>[] = [];
  const cache = new ApiKeyCache(OPTIONS, () => now);
  const load = async (hash: string): Promise<VerifiedKey | null> => {
    loads.push(hash);
    return hash.startsWith("unknown") ? null : { id: `${hash}@${now}`, scopes: ["admin"], expiresAt: null, revoked: false };
  };
  return {
    cache,
    loads,
    queued,
    get: (hash: string) => cache.get(hash, load, (work) => queued.push(work)),
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe("ApiKeyCache", () => {
  it("reads D1 once for a busy key: fresh entries are served as they are", async () => {
    const h = harness();
    for (let i = 0; i < 10; i++) {
      await h.get("a");
      h.advance(1_000);
    }
    expect(h.loads).toEqual(["a"]);
    expect(h.queued).toEqual([]);
  });

  it("serves an ageing entry while one reload runs beside the request", async () => {
    const h = harness();
    const first = await h.get("a");
    h.advance(OPTIONS.freshMs + 1);
    expect(await h.get("a")).toEqual(first);
    expect(h.queued).toHaveLength(1);
    await Promise.all(h.queued);
    expect((await h.get("a"))!.id).toBe(`a@${h.now()}`);
    expect(h.loads).toEqual(["a", "a"]);
  });

  it("reloads first once an entry is older than the maximum age", async () => {
    const h = harness();
    await h.get("a");
    h.advance(OPTIONS.maxAgeMs);
    expect((await h.get("a"))!.id).toBe(`a@${h.now()}`);
    expect(h.queued).toEqual([]);
  });

  it("remembers unknown keys too, so made-up keys cost one read each", async () => {
    const h = harness();
    expect(await h.get("unknown-1")).toBeNull();
    expect(await h.get("unknown-1")).toBeNull();
    expect(h.loads).toEqual(["unknown-1"]);
  });

  it("keeps at most maxEntries, dropping the least recently loaded", async () => {
    const h = harness();
    for (const hash of ["a", "b", "c", "d"]) await h.get(hash);
    await h.get("a");
    expect(h.loads).toEqual(["a", "b", "c", "d", "a"]);
  });

  it("forgets a key at once when asked", async () => {
    const h = harness();
    const key = await h.get("a");
    h.cache.forgetKey(key!.id);
    await h.get("a");
    expect(h.loads).toEqual(["a", "a"]);
  });

  it("never answers from a read older than the maximum age, whatever the timing of reloads (property)", async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 60_000 }) }),
      fc.record({ kind: fc.constant("get" as const), hash: fc.constantFrom("a", "b") }),
      fc.record({ kind: fc.constant("settle" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const h = harness();
        for (const s of steps) {
          if (s.kind === "advance") h.advance(s.ms);
          else if (s.kind === "settle") await Promise.all(h.queued.splice(0));
          else {
            const key = await h.get(s.hash);
            const loadedAt = Number(key!.id.split("@")[1]);
            expect(h.now() - loadedAt).toBeLessThan(OPTIONS.maxAgeMs);
          }
        }
      }),
    );
  });
});
