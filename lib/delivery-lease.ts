/**
 * Delivery leases: who may send a delivery right now. A claim writes the owner (node id), a lease
 * end and a new fence; every later write of that owner carries its fence, so a worker whose lease
 * lapsed and was taken over cannot clobber the new owner's record. What must stay true:
 * - a pending delivery always has a way forward: a live lease that its owner renews, or a lapsed
 *   or released one that the next redelivery takes over;
 * - once a send succeeded, the record is moved to `sent` whatever the fence (it is the truth), and
 *   the send is never repeated because that write failed.
 */
import { claimVerdict, type DeliveryDoc } from "../domain/notifications";
import { isDuplicateKey } from "../domain/catalog";

export interface DeliveryStore {
  insert(doc: DeliveryDoc): Promise<unknown>;
  findOne(query: object): Promise<DeliveryDoc | null>;
  updateOneIf(filter: object, update: object): Promise<DeliveryDoc | null>;
}

/** A delivery this worker holds: writes are fenced with `fence`. */
export interface Held {
  id: string;
  fence: number;
  attempts: number;
}

export type Claim =
  | { kind: "held"; held: Held }
  /** Just recorded as skipped: the user's preferences say no. */
  | { kind: "skipped" }
  | { kind: "done" }
  | { kind: "busy"; retryInMs: number };

/** The part of a JetStream message a long-running handler talks to. */
export interface InFlightMessage {
  working?(): void;
  nak?(delayMs?: number): void;
}

/** One id per (event, channel): a redelivery collides on the primary key in every store. */
export const deliveryId = (eventId: string, channel: string) => `${eventId}:${channel}`;

export class DeliveryLeases {
  constructor(
    private readonly store: DeliveryStore,
    private readonly owner: string,
    readonly leaseMs: number,
  ) {}

  /**
   * Inserts the record (pending, held by this worker) or, when it exists, takes it over if nobody
   * holds it. A record created `skipped` or already finished is `done`.
   */
  async claim(
    fresh: Omit<DeliveryDoc, "_id" | "owner" | "fence" | "leaseUntil" | "attempts">,
  ): Promise<Claim> {
    const now = Date.now();
    const doc: DeliveryDoc = {
      ...fresh,
      _id: deliveryId(fresh.eventId, fresh.channel),
      attempts: 0,
      owner: fresh.status === "pending" ? this.owner : null,
      fence: 1,
      leaseUntil: fresh.status === "pending" ? now + this.leaseMs : 0,
    };
    try {
      await this.store.insert(doc);
      if (doc.status !== "pending") return { kind: "skipped" };
      return { kind: "held", held: { id: doc._id, fence: 1, attempts: 0 } };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    // Seen before. Two workers may race for a lapsed lease: the fence decides, the loser re-reads.
    for (let round = 0; round < 3; round++) {
      const existing = await this.store.findOne({ eventId: fresh.eventId, channel: fresh.channel });
      if (!existing) break;
      const verdict = claimVerdict(existing, Date.now());
      if (verdict.kind !== "take") return verdict;
      // Records from before fences existed have none: match that, not a fence of 0.
      const sameFence = existing.fence === undefined ? { $exists: false } : existing.fence;
      const taken = await this.store.updateOneIf(
        { _id: existing._id, fence: sameFence, status: "pending" },
        {
          $set: {
            owner: this.owner,
            leaseUntil: Date.now() + this.leaseMs,
            fence: (existing.fence ?? 0) + 1,
          },
        },
      );
      if (taken)
        return { kind: "held", held: { id: taken._id, fence: taken.fence, attempts: taken.attempts ?? 0 } };
    }
    return { kind: "busy", retryInMs: Math.min(1000, this.leaseMs) };
  }

  /** Extends the lease; false when another worker has taken the delivery over. */
  async renew(held: Held): Promise<boolean> {
    const doc = await this.store.updateOneIf(
      { _id: held.id, fence: held.fence, status: "pending" },
      { $set: { leaseUntil: Date.now() + this.leaseMs } },
    );
    return Boolean(doc);
  }

  /** Records the attempt about to be made (and renews); false when this worker no longer owns it. */
  async startAttempt(held: Held, attempt: number): Promise<boolean> {
    const doc = await this.store.updateOneIf(
      { _id: held.id, fence: held.fence, status: "pending" },
      { $set: { attempts: attempt, leaseUntil: Date.now() + this.leaseMs } },
    );
    if (doc) held.attempts = attempt;
    return Boolean(doc);
  }

  /** Gives the delivery back at once, for the next redelivery on any node. */
  async release(held: Held): Promise<void> {
    await this.store.updateOneIf(
      { _id: held.id, fence: held.fence, status: "pending" },
      { $set: { leaseUntil: 0, owner: null } },
    );
  }

  /** The send went through: true unless the record was already finished by someone else. */
  async markSent(held: Held): Promise<boolean> {
    const doc = await this.store.updateOneIf(
      { _id: held.id, status: { $in: ["pending", "failed"] } },
      { $set: { status: "sent", attempts: held.attempts, sentAt: Date.now(), leaseUntil: 0, owner: null } },
    );
    return Boolean(doc);
  }

  /** No attempt is left: only the owner may say so, a lapsed owner's verdict is not. */
  async markFailed(held: Held, error: string): Promise<boolean> {
    const doc = await this.store.updateOneIf(
      { _id: held.id, fence: held.fence, status: "pending" },
      { $set: { status: "failed", attempts: held.attempts, error, leaseUntil: 0, owner: null } },
    );
    return Boolean(doc);
  }

  /**
   * While a delivery is worked on: renews the lease and tells JetStream the message is in
   * progress, every third of the lease unless told otherwise. (A lost lease shows at the next
   * fenced write.)
   */
  keepAlive(
    held: Held,
    message: InFlightMessage | undefined,
    onError: (err: unknown) => void,
    everyMs = this.leaseMs / 3,
  ): { stop(): void } {
    const timer = setInterval(
      () => {
        message?.working?.();
        this.renew(held).catch(onError);
      },
      Math.max(50, Math.floor(everyMs)),
    );
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}
