import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/history/group-commit";

/** A commit function that waits until released, recording each group it was given. */
function gatedCommits(fail: (items: string[]) => boolean = () => false) {
  const groups: string[][] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => {
    release = r;
  });
  const commit = async (items: string[]) => {
    groups.push(items);
    await gate;
    if (fail(items)) throw new Error(`refused ${items.join(",")}`);
    return items.map((i) => `ok:${i}`);
  };
  return {
    groups,
    commit,
    open: () => {
      release();
      gate = Promise.resolve();
    },
  };
}

describe("GroupCommit", () => {
  it("commits a lone submission at once", async () => {
    const committed: string[][] = [];
    const group = new GroupCommit<string, string>({
      commit: async (items) => {
        committed.push(items);
        return items.map((i) => i.toUpperCase());
      },
      weigh: () => 1,
      maxWeight: 10,
    });
    expect(await group.submit("a")).toBe("A");
    expect(committed).toEqual([["a"]]);
  });

  it("puts what arrives during a commit into the next one, in arrival order", async () => {
    const gated = gatedCommits();
    const group = new GroupCommit<string, string>({ commit: gated.commit, weigh: () => 1, maxWeight: 10 });
    const first = group.submit("a");
    const rest = ["b", "c", "d"].map((x) => group.submit(x));
    await Promise.resolve();
    expect(gated.groups).toEqual([["a"]]);
    gated.open();
    expect(await Promise.all([first, ...rest])).toEqual(["ok:a", "ok:b", "ok:c", "ok:d"]);
    expect(gated.groups).toEqual([["a"], ["b", "c", "d"]]);
    expect(group.commitCount()).toBe(2);
  });

  it("stops a group before it outweighs the limit, but always takes the first", async () => {
    const gated = gatedCommits();
    const weights = new Map([
      ["w", 1],
      ["heavy", 50],
      ["x", 4],
      ["y", 4],
      ["z", 4],
    ]);
    const group = new GroupCommit<string, string>({ commit: gated.commit, weigh: (i) => weights.get(i)!, maxWeight: 10 });
    const all = ["w", "heavy", "x", "y", "z"].map((x) => group.submit(x));
    gated.open();
    await Promise.all(all);
    expect(gated.groups).toEqual([["w"], ["heavy"], ["x", "y"], ["z"]]);
  });

  it("retries a failed group one by one, so only the bad submission fails", async () => {
    const gated = gatedCommits((items) => items.includes("bad"));
    const group = new GroupCommit<string, string>({ commit: gated.commit, weigh: () => 1, maxWeight: 10 });
    const first = group.submit("a");
    const others = ["b", "bad", "c"].map((x) =>
      group.submit(x).then(
        (r) => r,
        (e: Error) => `error:${e.message}`,
      ),
    );
    gated.open();
    expect(await first).toBe("ok:a");
    expect(await Promise.all(others)).toEqual(["ok:b", "error:refused bad", "ok:c"]);
    expect(gated.groups).toEqual([["a"], ["b", "bad", "c"], ["b"], ["bad"], ["c"]]);
  });

  it("rejects a lone submission whose commit fails, and keeps serving the next", async () => {
    let calls = 0;
    const group = new GroupCommit<string, string>({
      commit: async (items) => {
        calls += 1;
        if (calls === 1) throw new Error("D1 down");
        return items;
      },
      weigh: () => 1,
      maxWeight: 10,
    });
    await expect(group.submit("a")).rejects.toThrow("D1 down");
    expect(await group.submit("b")).toBe("b");
  });

  it("treats a commit that answers the wrong number of results as failed", async () => {
    const group = new GroupCommit<string, string>({ commit: async () => [], weigh: () => 1, maxWeight: 10 });
    await expect(group.submit("a")).rejects.toThrow("0 results for 1 items");
  });
});
