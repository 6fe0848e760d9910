/**
 * Idempotency-Key plumbing of POST /api/orders, for the orders service (kept out of its file).
 *
 * The key's record lives in the orders collection (`kind: "idem"`); claiming it is one insert
 * whose `_id` derives from (user, key), so the unique `_id` lets exactly one request own it.
 * The record names the order that request creates; a duplicate waits for that order's answer,
 * and if the owner stopped (its lease ran out) takes over the same order id, so a retry after a
 * crash or a timeout never makes a second order or a second charge.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import type { Meta, PlaceOrderParams } from "../contracts";
import { isDuplicateKey } from "../domain/catalog";
import { outcome, type OrderDoc } from "../domain/checkout";
import {
  bodyHash,
  decide,
  isValidKey,
  keyRecordId,
  newKeyRecord,
  type KeyRecord,
  type StoredResponse,
} from "../domain/idempotency";
import { invalidField } from "../domain/rule-error";
import { guestCartId } from "../domain/guest-tokens";
import { setTimeout as sleep } from "node:timers/promises";

/** How long a request whose key is in use waits for the first one before answering 409. */
const DUPLICATE_WAIT_MS = 6000;
const POLL_MS = 50;

type Ctx<P> = Context<P, Meta>;

export interface IdempotencyMethods {
  /** The stored answer for this key and body, running the checkout if this request owns the key. */
  placeOnce(ctx: Ctx<PlaceOrderParams>, key: string): Promise<StoredResponse>;
  claimKey(id: string, userId: string, hash: string): Promise<{ rec: KeyRecord; mine: boolean }>;
}

/** Needs the host's `checkout(ctx, orderId, resumed, owner)` and `claim(order)`. */
export const IdempotencyKeyMixin: ServiceSchema = {
  name: "",
  methods: {
    async placeOnce(this: any, ctx: Ctx<PlaceOrderParams>, key: string): Promise<StoredResponse> {
      if (!isValidKey(key))
        throw invalidField("Idempotency-Key", "stringMax", "Idempotency-Key must be 1-255 characters");
      // A guest's key is scoped to its cart (its token's hash), a user's to the user.
      const userId = ctx.meta.user?.id ?? guestCartId(ctx.meta.cartToken ?? "");
      const id = keyRecordId(userId, key);
      const hash = bodyHash(ctx.params);
      let { rec, mine } = await this.claimKey(id, userId, hash);
      let resumed = false;
      // The fencing token of the order this request took over; a new order gets its own.
      let owner: string | undefined;
      const deadline = Date.now() + DUPLICATE_WAIT_MS;
      for (;;) {
        if (rec.state === "done") return rec.response!;
        if (mine) {
          let res: StoredResponse;
          try {
            res = await this.checkout(ctx, rec.orderId, resumed, owner);
          } catch (err) {
            // Refused before any order existed (bad items, empty cart): the key stays free for a fixed request.
            if (!(await this.adapter.findById(rec.orderId)))
              await this.adapter.removeMany({ _id: id, state: "open", orderId: rec.orderId });
            throw err;
          }
          await this.updateOneIf({ _id: id, state: "open" }, { $set: { state: "done", response: res } });
          return res;
        }
        // Another request holds the key: wait for its answer, or take over once its lease ran out.
        const order: OrderDoc | null = await this.adapter.findById(rec.orderId);
        if (order?.step === "done") {
          const res = outcome(order);
          await this.updateOneIf({ _id: id, state: "open" }, { $set: { state: "done", response: res } });
          return res;
        }
        const now = Date.now();
        if (order ? (order.leaseUntil ?? 0) < now : rec.claimUntil < now) {
          const taken = order
            ? await this.claim(order)
            : await this.updateOneIf(
                { _id: id, state: "open", claimUntil: rec.claimUntil },
                { $set: { claimUntil: now + this.leaseMs } },
              );
          [mine, resumed, owner] = [Boolean(taken), true, order ? taken?.leaseOwner : undefined];
          if (mine) continue;
        }
        if (now > deadline)
          throw new Errors.MoleculerClientError(
            "A request with this Idempotency-Key is in progress",
            409,
            "IDEMPOTENCY_KEY_IN_USE",
            {},
          );
        await sleep(POLL_MS);
        const again: KeyRecord | null = await this.adapter.findById(id);
        if (again) rec = again;
        else ({ rec, mine } = await this.claimKey(id, userId, hash));
      }
    },

    async claimKey(
      this: any,
      id: string,
      userId: string,
      hash: string,
    ): Promise<{ rec: KeyRecord; mine: boolean }> {
      for (;;) {
        const fresh = newKeyRecord(id, userId, hash, randomUUID(), Date.now(), this.leaseMs);
        try {
          await this.adapter.insert(fresh);
          return { rec: fresh, mine: true };
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
        }
        const cur: KeyRecord | null = await this.adapter.findById(id);
        if (!cur) continue;
        const decision = decide(cur, hash, Date.now());
        if (decision === "mismatch")
          throw invalidField(
            "Idempotency-Key",
            "idempotencyKeyReused",
            "This Idempotency-Key was used with a different body",
          );
        if (decision !== "expired") return { rec: cur, mine: false };
        const { _id, ...rest } = fresh;
        const taken = await this.updateOneIf(
          { _id, expiresAtMs: cur.expiresAtMs },
          { $set: { ...rest, response: null } },
        );
        if (taken) return { rec: taken, mine: true };
      }
    },
  },
};
