/**
 * Waits and retries that end as soon as the node starts stopping. The channels adapter waits for
 * in-flight messages before a service's `stopped` runs, so a handler in a backoff must notice
 * `broker.stopping` itself, or the stop waits the backoff out.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceBroker } from "moleculer";
import { backoffMs } from "../domain/notifications";

/** Writes a stopping node still tries, e.g. to record a send that went through. */
const LAST_TRIES_WHEN_STOPPING = 3;

export class StopAware {
  private readonly signal = new AbortController();
  private watch?: NodeJS.Timeout;

  constructor(
    private readonly broker: ServiceBroker,
    private readonly logger: { warn(message: string): void },
  ) {}

  /** From the service's `started`: polls the broker's stopping flag (no hook comes earlier). */
  start(): void {
    this.watch = setInterval(() => this.broker.stopping && this.stop(), 100);
    this.watch.unref();
  }

  stop(): void {
    clearInterval(this.watch);
    this.signal.abort();
  }

  get stopping(): boolean {
    return this.signal.signal.aborted;
  }

  /** Waits ms; false, at once, when the node is stopping. */
  async pause(ms: number): Promise<boolean> {
    if (this.stopping) return false;
    return sleep(ms, true, { signal: this.signal.signal, ref: false }).catch(() => false);
  }

  /**
   * Retries a store write, with backoff from baseMs, until it lands; a stopping node makes a few
   * last tries. Undefined when it never landed.
   */
  async persist<T>(what: string, write: () => Promise<T>, baseMs: number): Promise<T | undefined> {
    let lastTries = LAST_TRIES_WHEN_STOPPING;
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err: any) {
        this.logger.warn(`Recording ${what}: write ${attempt} failed (${err?.message}); retrying.`);
        if (this.stopping && --lastTries <= 0) return undefined;
        if (!(await this.pause(backoffMs(attempt, baseMs)))) await sleep(50);
      }
    }
  }
}
