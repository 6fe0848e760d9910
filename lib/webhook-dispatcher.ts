/**
 * Sends the recorded webhook deliveries. Every node running `webhooks` runs one dispatcher over
 * the shared store. What must stay true:
 * - a delivery is claimed (owner, lease, a new fence; its attempt counted) before it is sent, so
 *   two nodes never send it at once and a node killed mid-request leaves it to be taken over once
 *   its lease lapses (the lease outlasts the request timeout);
 * - only the oldest pending delivery of an (endpoint, aggregate) may go, and only once every
 *   earlier event is recorded (the watermark): an aggregate's events arrive in order, and a
 *   delivery waiting out a retry holds back only its own aggregate;
 * - requests in flight are bounded per endpoint (a window that grows with each 2xx up to
 *   `perEndpoint` and halves on anything else) and in total, and an endpoint with no free slot
 *   is not even read: a hanging endpoint soon holds one slot, for at most the timeout, never
 *   another endpoint's, never the intake (the channel is acknowledged once the record exists);
 * - a 2xx is recorded as delivered whatever the fence (it is the truth); a lapsed owner's failure
 *   changes nothing.
 */
import {
  afterAttempt,
  deactivates,
  deliveryHeaders,
  DEACTIVATION_REASON,
  dueDeliveries,
  FIRST_WINDOW,
  nextWindow,
  type DeliveryDoc,
  type EndpointDoc,
} from "../domain/webhooks";
import type { ResolvedAddress, UrlCheck } from "./ssrf";
import type { SendResult } from "./webhook-sender";

export const KIND_ENDPOINT = "endpoint";
export const KIND_DELIVERY = "delivery";
/** An event's body, shared by its deliveries. */
export const KIND_EVENT = "event";

/** One collection holds the three kinds (`kind`), as orders keep their idempotency keys. */
export interface WebhookStore {
  /** The active endpoints, oldest first. */
  activeEndpoints(): Promise<readonly EndpointDoc[]>;
  /** The endpoint's pending deliveries, oldest first (`at`, then `_id`), at most `limit`. */
  pendingOf(endpointId: string, limit: number): Promise<readonly DeliveryDoc[]>;
  /** The body recorded for the event (eventBodyId), or null. */
  bodyOf(eventId: string): Promise<string | null>;
  findById(id: string): Promise<any | null>;
  updateOneIf(filter: object, update: object): Promise<any | null>;
}

export interface DispatcherDeps {
  store: WebhookStore;
  owner: string;
  perEndpoint: number;
  maxInFlight: number;
  timeoutMs: number;
  backoffMs: number;
  /** Up to where every event is recorded (µs), as of a moment before the call returned. */
  watermark(): Promise<number>;
  checkUrl(url: string): Promise<UrlCheck>;
  post(url: URL, target: ResolvedAddress, body: string, headers: Record<string, string>): Promise<SendResult>;
  /** An endpoint was just switched off by this node (its admin email is due). */
  deactivated(endpoint: EndpointDoc): void;
  outcome(status: "delivered" | "retried" | "failed", ms: number): void;
  logger: { warn(...args: unknown[]): void; info(...args: unknown[]): void };
}

/** Pending deliveries of one endpoint read per round, oldest first. */
const WINDOW = 200;
/** A wake waits this long, so the wakes of a burst share one round. */
const WAKE_MS = 10;
const BUSY_ROUND_MS = 200;
const IDLE_ROUND_MS = 1000;

export class WebhookDispatcher {
  private readonly inFlight = new Map<string, number>();
  /** Requests each endpoint may have in flight now (nextWindow); FIRST_WINDOW until it answers. */
  private readonly windows = new Map<string, number>();
  private total = 0;
  private readonly running = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private nextRoundAt = 0;
  private roundGoing = false;
  private again = false;
  private stopped = true;
  /** The first endpoint read in a round moves on each time: no endpoint always goes first. */
  private turn = 0;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Long enough that a request in flight always ends (timeout) before its lease does. */
  get leaseMs(): number {
    return this.deps.timeoutMs * 2 + 5000;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops starting requests and waits up to `graceMs` for those in flight (their leases lapse otherwise). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
  }

  /** Something new to send (a recorded event, a freed slot): a round soon. */
  wake(): void {
    if (this.roundGoing) this.again = true;
    else this.schedule(WAKE_MS);
  }

  /** A round in `ms`, unless one is due sooner already (a stream of wakes never postpones it). */
  private schedule(ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + ms;
    if (this.timer && this.nextRoundAt <= at) return;
    clearTimeout(this.timer);
    this.nextRoundAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.round();
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (this.roundGoing || this.stopped) return;
    this.roundGoing = true;
    this.again = false;
    let busy = false;
    try {
      busy = await this.dispatch();
    } catch (err: any) {
      this.deps.logger.warn(`Webhooks: a dispatch round failed (${err?.message ?? err}); retrying.`);
    } finally {
      this.roundGoing = false;
    }
    this.schedule(this.again ? 0 : busy ? BUSY_ROUND_MS : IDLE_ROUND_MS);
  }

  /** One pass over the active endpoints; true when deliveries are left pending. */
  private async dispatch(): Promise<boolean> {
    const { store, perEndpoint, maxInFlight } = this.deps;
    const endpoints = await store.activeEndpoints();
    let pendingLeft = false;
    const n = endpoints.length;
    if (!n) return false;
    // Taken before the reads: every event before it is recorded, so in the rows read next an
    // aggregate's oldest pending delivery is truly its next one. (Taken after, an event recorded
    // between the read and the watermark would be missing from the rows and be overtaken.)
    const watermark = await this.deps.watermark();
    this.turn = (this.turn + 1) % Math.max(1, n);
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[(this.turn + i) % n];
      const window = Math.min(perEndpoint, this.windows.get(endpoint._id) ?? FIRST_WINDOW);
      const free = Math.min(window - (this.inFlight.get(endpoint._id) ?? 0), maxInFlight - this.total);
      if (free <= 0) {
        pendingLeft = true;
        continue;
      }
      const pending = await store.pendingOf(endpoint._id, WINDOW);
      if (!pending.length) continue;
      pendingLeft = true;
      const now = Date.now();
      const due = dueDeliveries(pending, now, watermark, free);
      const byId = new Map(pending.map((d) => [d._id, d]));
      for (const id of due) this.launch(endpoint, byId.get(id)!);
    }
    return pendingLeft;
  }

  private launch(endpoint: EndpointDoc, d: DeliveryDoc): void {
    this.inFlight.set(endpoint._id, (this.inFlight.get(endpoint._id) ?? 0) + 1);
    this.total++;
    const run: Promise<void> = this.deliver(endpoint, d)
      .catch((err: any) =>
        this.deps.logger.warn(`Webhooks: delivery ${d._id} failed to run (${err?.message ?? err}).`),
      )
      .finally(() => {
        this.running.delete(run);
        this.total--;
        const left = (this.inFlight.get(endpoint._id) ?? 1) - 1;
        if (left) this.inFlight.set(endpoint._id, left);
        else this.inFlight.delete(endpoint._id);
        this.wake();
      });
    this.running.add(run);
  }

  /** Claims, sends and records one attempt. */
  private async deliver(endpoint: EndpointDoc, d: DeliveryDoc): Promise<void> {
    const { store } = this.deps;
    const now = Date.now();
    const attempt = d.attempts + 1;
    const fence = d.fence + 1;
    const claimed = await store.updateOneIf(
      { _id: d._id, status: "pending", fence: d.fence, leaseUntil: { $lte: now } },
      { $set: { owner: this.deps.owner, leaseUntil: now + this.leaseMs, fence, attempts: attempt } },
    );
    if (!claimed) return; // another node took it first
    const check = await this.deps.checkUrl(endpoint.url);
    const body = d.body ?? (await store.bodyOf(d.eventId));
    const result: SendResult =
      body === null
        ? { status: null, error: "the event's body is missing", ms: 0 }
        : check.ok
          ? await this.deps.post(
              check.url,
              check.target,
              body,
              deliveryHeaders({ ...d, body }, endpoint.secret),
            )
          : { status: null, error: `refused: ${check.reason}`, ms: 0 };
    const outcome = afterAttempt(attempt, result.status, this.deps.backoffMs);
    const window = this.windows.get(endpoint._id) ?? FIRST_WINDOW;
    this.windows.set(endpoint._id, nextWindow(window, outcome.kind === "delivered", this.deps.perEndpoint));
    const last = { lastStatusCode: result.status, lastError: result.error };
    if (outcome.kind === "delivered") {
      await store.updateOneIf(
        { _id: d._id, status: "pending" },
        {
          $set: { ...last, status: "delivered", deliveredAt: Date.now(), owner: null, leaseUntil: 0 },
          $unset: { pendingOf: true },
        },
      );
      this.deps.outcome("delivered", result.ms);
      await store.updateOneIf(
        { _id: endpoint._id, kind: KIND_ENDPOINT, consecutiveFailures: { $gt: 0 } },
        { $set: { consecutiveFailures: 0 } },
      );
      return;
    }
    const mine = { _id: d._id, status: "pending", fence };
    if (outcome.kind === "retry") {
      const nextAttemptAt = Date.now() + outcome.inMs;
      if (await store.updateOneIf(mine, { $set: { ...last, nextAttemptAt, owner: null, leaseUntil: 0 } }))
        this.deps.outcome("retried", result.ms);
      return;
    }
    const failed = {
      $set: { ...last, status: "failed", owner: null, leaseUntil: 0 },
      $unset: { pendingOf: true },
    };
    if (!(await store.updateOneIf(mine, failed))) return;
    this.deps.outcome("failed", result.ms);
    await this.countFailure(endpoint._id);
  }

  /** One more delivery failed in a row; the one that reaches the limit switches the endpoint off. */
  private async countFailure(endpointId: string): Promise<void> {
    const { store } = this.deps;
    const counted: EndpointDoc | null = await store.updateOneIf(
      { _id: endpointId, kind: KIND_ENDPOINT },
      { $inc: { consecutiveFailures: 1 } },
    );
    if (!counted || !counted.active || !deactivates(counted.consecutiveFailures)) return;
    const off: EndpointDoc | null = await store.updateOneIf(
      { _id: endpointId, kind: KIND_ENDPOINT, active: true },
      {
        $set: {
          active: false,
          deactivatedAt: Date.now(),
          deactivationReason: DEACTIVATION_REASON,
          deactivationNotice: "pending",
          updatedAt: Date.now(),
        },
      },
    );
    if (!off) return;
    this.deps.logger.warn(
      `Webhooks: endpoint ${endpointId} (${off.url}) switched off: ${DEACTIVATION_REASON}.`,
    );
    this.deps.deactivated(off);
  }
}
