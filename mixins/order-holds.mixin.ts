/**
 * Orders on hold for their risk (the risk step: mixins/risk-step.ts): an admin's review moves one
 * on to its charge or cancels it, and a sweep cancels those whose reservation ran out.
 *
 * What must stay true: a review or the sweep moves a held order by the same compare-and-set as
 * any driver (status on_hold and step done), so of a review, a customer's cancel and the sweep
 * exactly one wins; the others see the order moved and answer from its new state.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import { Events, type Meta, type Order, type ReviewDecision } from "../contracts";
import type { OrderDoc } from "../domain/checkout";
import { transition } from "../domain/order-state";
import type { DbIndexSettings } from "./db.mixin";

type Ctx<P> = Context<P, Meta>;

export interface HoldVars {
  holdTimer?: NodeJS.Timeout;
}
export interface HoldMethods {
  /** Cancels held orders whose reservation ran out. */
  expireHolds(): Promise<void>;
}

export const OrderHoldsMixin: ServiceSchema = {
  name: "",
  settings: {
    dbIndexes: { heldUntil: { fields: { heldUntil: 1 }, sparse: true } },
  } as DbIndexSettings,

  actions: {
    review: {
      auth: "admin",
      params: {
        $$strict: true,
        id: { type: "string", min: 1, max: 100 },
        decision: { type: "enum", values: ["approve", "reject"] },
      },
      async handler(this: any, ctx: Ctx<{ id: string; decision: ReviewDecision }>): Promise<Order> {
        const { id, decision } = ctx.params;
        const d: OrderDoc = await this.own(ctx, id);
        if (d.status !== "on_hold" || d.step !== "done")
          throw new Errors.MoleculerClientError("The order is not on hold", 409, "ORDER_NOT_ON_HOLD", {
            id,
            status: d.status,
          });
        const at = new Date();
        const owner = randomUUID();
        const review = { decision, by: ctx.meta.user!.id, at: at.toISOString() };
        const reviewed = this.newEvent(Events.orderReviewed, d._id, {
          orderId: d._id,
          userId: d.userId,
          decision,
        });
        const events = [reviewed];
        let set: Partial<OrderDoc> = { step: "charge", review };
        if (decision === "reject") {
          const reason = "rejected_in_review";
          events.push(
            this.newEvent(Events.orderCancelled, d._id, { orderId: d._id, userId: d.userId, reason }),
          );
          set = { ...transition(d, "cancelled", review.at), step: "cancel", reason, review };
        }
        const update = {
          $set: { ...set, leaseUntil: at.getTime() + this.leaseMs, leaseOwner: owner, updatedAt: review.at },
        };
        const taken = await this.updateOneIf(
          { _id: d._id, status: "on_hold", step: "done" },
          this.pushOutbox(update, events),
        );
        if (!taken)
          throw new Errors.MoleculerClientError("The order is no longer on hold", 409, "ORDER_NOT_ON_HOLD", {
            id,
          });
        if (decision === "reject") this.broker.metrics.increment("orders.total", { status: "cancelled" });
        // Approve: charged as a resumed order, so a reservation that ran out is refunded, not sold.
        return this.viewFor(ctx.meta.user, await this.driveToEnd(ctx, d._id, true, owner));
      },
    },
  },

  methods: {
    async expireHolds(this: any) {
      const due: OrderDoc[] = await this.adapter.find({
        query: { heldUntil: { $lt: Date.now() }, status: "on_hold" },
        limit: 50,
      });
      for (const d of due) {
        const at = new Date();
        const owner = randomUUID();
        const reason = "hold_expired";
        const evt = this.newEvent(Events.orderCancelled, d._id, { orderId: d._id, userId: d.userId, reason });
        const set = { ...transition(d, "cancelled", at.toISOString()), step: "cancel", reason };
        const update = {
          $set: {
            ...set,
            leaseUntil: at.getTime() + this.leaseMs,
            leaseOwner: owner,
            updatedAt: at.toISOString(),
          },
        };
        const taken = await this.updateOneIf(
          { _id: d._id, status: "on_hold", step: "done" },
          this.pushOutbox(update, [evt]),
        );
        if (!taken) continue;
        this.broker.metrics.increment("orders.total", { status: "cancelled" });
        this.logger.info(`Order ${d._id} was on hold past its reservation: cancelled.`);
        await this.drive(this.broker, d._id, false, owner).catch((err: unknown) =>
          this.logger.warn(`Cancelling held order ${d._id} failed; recovery will finish it.`, String(err)),
        );
      }
    },
  },

  started(this: any) {
    const every = Math.min(10_000, Math.max(200, this.reservationTtlMs / 4));
    this.holdTimer = setInterval(
      () =>
        void this.expireHolds().catch((err: unknown) => this.logger.warn("Hold expiry failed", String(err))),
      every,
    );
    this.holdTimer.unref?.();
  },

  stopped(this: any) {
    clearInterval(this.holdTimer);
  },
};
