import type { Scope } from "./scopes";

/** What verification needs of a key, as read from D1 for one secret hash. */
export interface VerifiedKey {
  id: string;
  scopes: readonly Scope[];
  /** Epoch ms, null for never; the earlier of the key's and this secret's expiry. */
  expiresAt: number | null;
  revoked: boolean;
}

interface Entry {
  key: VerifiedKey | null;
  loadedAt: number;
  refreshing: boolean;
}

/**
 * A per-isolate cache of API keys by secret hash, unknown hashes included (so a flood of made-up
 * keys costs one read each per minute, not one per request). An entry younger than `freshMs` is
 * used as it is; one younger than `maxAgeMs` is used while a reload runs beside the request; an
 * older one is reloaded first. A key revoked elsewhere is therefore refused within `maxAgeMs`,
 * and a busy key never waits for D1 after its first use.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: { freshMs: number; maxAgeMs: number; maxEntries: number },
    private readonly now: () => number = Date.now,
  ) {}

  async get(
    hash: string,
    load: (hash: string) => Promise<VerifiedKey | null>,
    inBackground: (work: Promise<unknown>) => void,
  ): Promise<VerifiedKey | null> {
    const entry = this.entries.get(hash);
    const age = entry ? this.now() - entry.loadedAt : Number.POSITIVE_INFINITY;
    if (entry && age < this.options.freshMs) return entry.key;
    if (entry && age < this.options.maxAgeMs) {
      if (!entry.refreshing) {
        entry.refreshing = true;
        inBackground(
          this.reload(hash, load).catch(() => {
            entry.refreshing = false;
          }),
        );
      }
      return entry.key;
    }
    return this.reload(hash, load);
  }

  /** Forgets a key at once, in this isolate (a revoke or roll made here). */
  forgetKey(keyId: string): void {
    for (const [hash, entry] of this.entries) if (entry.key?.id === keyId) this.entries.delete(hash);
  }

  private async reload(hash: string, load: (hash: string) => Promise<VerifiedKey | null>): Promise<VerifiedKey | null> {
    const key = await load(hash);
    this.entries.delete(hash);
    this.entries.set(hash, { key, loadedAt: this.now(), refreshing: false });
    // Maps iterate in insertion order, so the first entries are the least recently loaded.
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return key;
  }
}
