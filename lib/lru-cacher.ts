/**
 * The in-memory cacher (no REDIS_URL): Moleculer's MemoryLRU, bounded to `max` entries with the
 * least recently used evicted first, so distinct queries between invalidations cannot grow it
 * without end. Unlike MemoryLRU, a read does not extend an entry's TTL: a hot entry still expires,
 * as with the plain Memory cacher, in case an invalidation never reached this node.
 */
import { Cachers } from "moleculer";

export interface BoundedCacherOptions {
  /** Seconds an entry lives after it was stored. */
  ttl: number;
  /** Entries kept at most. */
  max: number;
}

export class BoundedMemoryCacher extends Cachers.MemoryLRU {
  constructor(opts: BoundedCacherOptions) {
    super(opts);
    (this as any).cache.updateAgeOnGet = false;
  }
}
