/**
 * Coalesces concurrent submissions into shared commits: while one commit is in flight, new
 * submissions wait, and the next commit takes as many of them as fit. An idle committer starts
 * at once, so a lone submission pays no delay; under load, each commit carries many callers.
 *
 * A shared commit that fails is retried one submission at a time, so one caller's bad input
 * fails only that caller.
 */
export interface GroupCommitOptions<T, R> {
  /** Commits the items together: one result per item, in order, or a throw for all of them. */
  commit: (items: T[]) => Promise<R[]>;
  /** What an item weighs against `maxWeight` (entries, bytes): a group stops before exceeding it. */
  weigh: (item: T) => number;
  maxWeight: number;
}

interface Waiting<T, R> {
  item: T;
  weight: number;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<T, R> {
  private readonly waiting: Waiting<T, R>[] = [];
  private running = false;
  private commits = 0;

  constructor(private readonly options: GroupCommitOptions<T, R>) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, weight: this.options.weigh(item), resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Commits made so far (metrics and tests). */
  commitCount(): number {
    return this.commits;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) await this.commitGroup(this.takeGroup());
    } finally {
      this.running = false;
    }
  }

  /** The oldest submissions that fit together; the first always goes, however heavy. */
  private takeGroup(): Waiting<T, R>[] {
    let weight = 0;
    let n = 0;
    while (n < this.waiting.length && (n === 0 || weight + this.waiting[n]!.weight <= this.options.maxWeight)) {
      weight += this.waiting[n]!.weight;
      n += 1;
    }
    return this.waiting.splice(0, n);
  }

  private async commitGroup(group: Waiting<T, R>[]): Promise<void> {
    try {
      const results = await this.run(group.map((w) => w.item));
      for (const [i, w] of group.entries()) w.resolve(results[i]!);
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      for (const w of group) {
        try {
          w.resolve((await this.run([w.item]))[0]!);
        } catch (alone) {
          w.reject(alone);
        }
      }
    }
  }

  private async run(items: T[]): Promise<R[]> {
    this.commits += 1;
    const results = await this.options.commit(items);
    if (results.length !== items.length) throw new Error(`commit answered ${results.length} results for ${items.length} items`);
    return results;
  }
}
