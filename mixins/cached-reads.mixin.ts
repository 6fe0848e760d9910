/**
 * CachedReadsMixin({ event, pattern }): reads kept in the broker's cacher (memory, bounded to
 * CACHE_MAX_ENTRIES least recently used entries, or Redis shared by every node) and cleared on
 * every node when `event` is broadcast.
 *
 *   handler: return this.cached(key, () => compute());
 *   after a write: await this.announceChange();   // this node's cache is clean when it resolves
 *
 * A read never answers from the cache while an invalidation is still being applied on this node,
 * and an answer computed across an invalidation is not stored, so no cached answer predates a
 * write whose broadcast reached the node. Bursts of invalidations (one per order, say) share
 * cleans: at most one runs and one waits.
 */
import type { ServiceSchema } from "moleculer";

export interface CachedReadsOptions {
  /** Broadcast event that invalidates, e.g. "cache.clean.products". */
  event: string;
  /** Cache keys it clears, e.g. "products.**". */
  pattern: string;
}

export interface CachedReadsMethods {
  cached<T>(key: string, compute: () => Promise<T>): Promise<T>;
  /** Broadcasts the invalidation; resolves once this node applied it (and so Redis, if shared). */
  announceChange(): Promise<unknown>;
  cleanCache(): Promise<void>;
}

interface State {
  /** Incremented by every invalidation: a read that saw it change does not store its answer. */
  generation: number;
  /** Invalidations asked for and not yet applied. */
  pendingCleans: number;
  queuedClean?: Promise<void>;
  lastClean?: Promise<void>;
}

export function CachedReadsMixin(opts: CachedReadsOptions): Partial<ServiceSchema> {
  return {
    events: {
      [opts.event](this: any) {
        return this.cleanCache();
      },
    },
    methods: {
      async cached<T>(this: any, key: string, compute: () => Promise<T>): Promise<T> {
        const cacher = this.broker.cacher;
        const state: State = this.cachedReads;
        if (!cacher || state.pendingCleans > 0) return compute();
        const hit = (await cacher.get(key).catch(() => null)) as T | null;
        if (hit != null) return hit;
        const generation = state.generation;
        const value = await compute();
        if (generation === state.generation) await cacher.set(key, value).catch(() => undefined);
        return value;
      },

      announceChange(this: any) {
        return this.broker.broadcast(opts.event);
      },

      cleanCache(this: any): Promise<void> {
        const state: State = this.cachedReads;
        state.generation++;
        state.pendingCleans++;
        if (!state.queuedClean) {
          const run = async () => {
            state.queuedClean = undefined;
            await this.broker.cacher?.clean(opts.pattern);
          };
          state.queuedClean = state.lastClean = (state.lastClean ?? Promise.resolve()).then(run, run);
        }
        return state.queuedClean.finally(() => state.pendingCleans--);
      },
    },
    created(this: any) {
      this.cachedReads = { generation: 0, pendingCleans: 0 } satisfies State;
    },
  };
}
