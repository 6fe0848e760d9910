/**
 * Fixed-window counters for rate limits and login throttling: in memory by default, or in Redis
 * (REDIS_URL) so that every gateway node counts against the same limit.
 */
import type { IncomingMessage } from "node:http";
import Redis from "ioredis";

export interface Hit {
  /** Hits in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends and the count starts again from zero. */
  resetMs: number;
}

export interface CounterStore {
  /** Synchronous where it can be (memory): this runs on every request. */
  hit(key: string, windowMs: number): Hit | Promise<Hit>;
  /** Takes one hit back (an attempt that turned out not to count). */
  undo(key: string): Promise<void>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

export class MemoryCounterStore implements CounterStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private readonly sweeper = setInterval(() => this.sweep(), 60_000).unref();

  hit(key: string, windowMs: number): Hit {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) this.windows.set(key, (w = { count: 0, resetAt: now + windowMs }));
    w.count++;
    return { count: w.count, resetMs: w.resetAt - now };
  }

  async undo(key: string): Promise<void> {
    const w = this.windows.get(key);
    if (w && w.count > 0) w.count--;
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private sweep() {
    const now = Date.now();
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }
}

/** INCR and the window's expiry in one step, so no key is ever left without a TTL. */
const HIT_SCRIPT = `
local c = redis.call('INCR', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
if t < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  t = tonumber(ARGV[1])
end
return {c, t}`;

/**
 * Redis counters. While Redis does not answer, the node falls back to its own memory counters
 * (limits then hold per node) rather than refusing or waving through every request.
 */
export class RedisCounterStore implements CounterStore {
  private readonly redis: Redis;
  private readonly fallback = new MemoryCounterStore();
  private lastWarning = 0;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly warn: (msg: string) => void,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
    this.redis.on("error", (err) => this.degraded(err));
    this.redis.defineCommand("rateHit", { numberOfKeys: 1, lua: HIT_SCRIPT });
  }

  /** Waits (bounded) for the first connection, so the first requests already share counts. */
  async ready(timeoutMs = 3000): Promise<void> {
    if (this.redis.status === "ready") return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.redis.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async hit(key: string, windowMs: number): Promise<Hit> {
    try {
      const [count, resetMs] = (await (this.redis as any).rateHit(this.prefix + key, windowMs)) as [
        number,
        number,
      ];
      return { count, resetMs };
    } catch (err) {
      this.degraded(err);
      return this.fallback.hit(key, windowMs);
    }
  }

  async undo(key: string): Promise<void> {
    await this.redis.decr(this.prefix + key).catch((err) => this.degraded(err));
    await this.fallback.undo(key);
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(this.prefix + key).catch((err) => this.degraded(err));
    await this.fallback.reset(key);
  }

  async close(): Promise<void> {
    await this.fallback.close();
    this.redis.disconnect();
  }

  private degraded(err: unknown) {
    if (Date.now() - this.lastWarning < 60_000) return;
    this.lastWarning = Date.now();
    this.warn(`Rate-limit counters: Redis unavailable, counting in memory on this node (${String(err)})`);
  }
}

export function createCounterStore(
  redisUrl: string | undefined,
  prefix: string,
  warn: (msg: string) => void,
): CounterStore & { ready?: () => Promise<void> } {
  return redisUrl ? new RedisCounterStore(redisUrl, prefix, warn) : new MemoryCounterStore();
}

/**
 * The client a limit applies to. Behind a trusted proxy (TRUST_PROXY=1) that is the address the
 * proxy appended last to X-Forwarded-For; earlier entries come from the client and can be forged.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const xff = req.headers["x-forwarded-for"];
    const last = (Array.isArray(xff) ? xff.join(",") : (xff ?? "")).split(",").pop()?.trim();
    if (last) return last;
  }
  const addr = req.socket.remoteAddress ?? "unknown";
  return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
}
