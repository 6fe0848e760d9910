/**
 * Counting promotion uses for the pricing service (its plumbing, kept out of the service file):
 * `pricing.redeem` and `pricing.release`, the checkout saga's promotion step and its undo.
 *
 * What must stay true:
 * - `usageCount` never passes `usageLimit`, nor a customer's count `perCustomerLimit`, however
 *   many orders nodes redeem at once: the check and the increment are one conditional update of
 *   the promotion's document (`usageCount < usageLimit`, the customer's count below its limit).
 * - Each is applied once per order, even when a saga step runs twice (a crash, a takeover). The
 *   order's use record (`use:<orderId>`) says what happened; the one write whose outcome a crash
 *   could hide, the promotion's increment, leaves a marker `holds.<token>` on the promotion in the
 *   same update, so a repeat can tell "applied" from "not yet". The marker goes once the record
 *   says so: `holds` only ever lists orders in flight.
 * - A customer's count lives on the promotion as `customers.<hash of the customer key>`, only
 *   for codes with a `perCustomerLimit` (one number per buyer who used it).
 */
import { createHash } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import type { CustomerKey, Meta } from "../contracts";
import { isDuplicateKey } from "../domain/catalog";

export interface UseDoc {
  _id: string;
  kind: "use";
  orderId: string;
  promotionId: string;
  /** The customer's counter on the promotion (`customers.<hash>`), when the code has a perCustomerLimit. */
  customer?: string;
  /** counting: the increment may or may not have been applied (its marker says); refused: exhausted. */
  state: "counting" | "counted" | "refused" | "releasing" | "released";
  createdAt: string;
}

export interface PromotionUsesMethods {
  /** Applies `update` to the promotion once under `token` (if `filter` matches); true when applied (now or before). */
  applyOnce(promotionId: string, token: string, filter: object, update: object): Promise<boolean>;
  hasMarker(promotionId: string, token: string): Promise<boolean>;
  /** Gives a use's counts back, once (marker `r-<orderId>`). */
  undoCount(use: UseDoc): Promise<void>;
  dropMarker(promotionId: string, token: string): Promise<void>;
}

const ID = { type: "string", min: 1, max: 200 } as const;
const useId = (orderId: string) => `use:${orderId}`;
const customerField = (key: CustomerKey) =>
  `customers.${createHash("sha256").update(key).digest("hex").slice(0, 32)}`;
const holdField = (token: string) => `holds.${token}`;
/** What a use adds to (1) or takes from (-1) the promotion: usageCount, and the customer's count. */
const countsOf = (use: UseDoc, n: 1 | -1) => ({
  usageCount: n,
  ...(use.customer ? { [use.customer]: n } : {}),
});

export const PromotionUsesMixin: ServiceSchema = {
  name: "",
  actions: {
    redeem: {
      visibility: "public",
      params: { $$strict: true, promotionId: ID, orderId: ID, customerKey: { ...ID, max: 400 } },
      async handler(
        this: any,
        ctx: Context<{ promotionId: string; orderId: string; customerKey: CustomerKey }, Meta>,
      ): Promise<{ counted: boolean }> {
        const { promotionId, orderId } = ctx.params;
        const promo = await this.adapter.findById(promotionId);
        if (!promo || promo.kind !== "promotion") return { counted: false };
        const customer = customerField(ctx.params.customerKey);
        const perCustomer = promo.perCustomerLimit != null;
        const fresh: UseDoc = {
          _id: useId(orderId),
          kind: "use",
          orderId,
          promotionId,
          ...(perCustomer ? { customer } : {}),
          state: "counting",
          createdAt: new Date().toISOString(),
        };
        const inserted = await this.adapter.insert(fresh).then(
          () => true,
          (err: unknown) => (isDuplicateKey(err) ? false : Promise.reject(err)),
        );
        // A repeat of the step (a crash, a takeover): what the first run settled stands.
        const use: UseDoc = inserted ? fresh : await this.adapter.findById(fresh._id);
        if (use.state === "refused") return { counted: false };
        if (use.state !== "counting") {
          await this.dropMarker(use.promotionId, orderId);
          return { counted: true };
        }
        const limits: object[] = [];
        if (promo.usageLimit != null) limits.push({ usageCount: { $lt: promo.usageLimit } });
        if (perCustomer)
          limits.push({
            $or: [{ [customer]: { $exists: false } }, { [customer]: { $lt: promo.perCustomerLimit } }],
          });
        const counted = await this.applyOnce(
          use.promotionId,
          orderId,
          limits.length ? { $and: limits } : {},
          {
            $inc: countsOf(use, 1),
          },
        );
        const settled = await this.updateOneIf(
          { _id: use._id, state: "counting" },
          { $set: { state: counted ? "counted" : "refused" } },
        );
        if (!settled && counted) {
          // A compensation settled this use as refused while this step ran: give the count back.
          const now: UseDoc | null = await this.adapter.findById(use._id);
          if (now?.state === "refused") await this.undoCount(now);
          return { counted: now?.state !== "refused" && now?.state !== undefined };
        }
        if (counted) {
          await this.dropMarker(use.promotionId, orderId);
          if (promo.usageLimit != null && promo.usageCount + 1 >= promo.usageLimit)
            await this.announceChange();
        }
        return { counted };
      },
    },

    release: {
      visibility: "public",
      params: { $$strict: true, orderId: ID },
      async handler(this: any, ctx: Context<{ orderId: string }, Meta>): Promise<{ released: boolean }> {
        const { orderId } = ctx.params;
        let use: UseDoc | null = await this.adapter.findById(useId(orderId));
        if (use?.state === "counting") {
          // Compensating a step that never finished: settle it by its marker first.
          const applied = await this.hasMarker(use.promotionId, orderId);
          await this.updateOneIf(
            { _id: use._id, state: "counting" },
            { $set: { state: applied ? "counted" : "refused" } },
          );
          use = await this.adapter.findById(use._id);
        }
        if (use?.state === "counted")
          await this.updateOneIf({ _id: use._id, state: "counted" }, { $set: { state: "releasing" } });
        use = use && (await this.adapter.findById(use._id));
        if (!use || use.state !== "releasing") return { released: use?.state === "released" };
        await this.undoCount(use);
        await this.updateOneIf({ _id: use._id, state: "releasing" }, { $set: { state: "released" } });
        await this.dropMarker(use.promotionId, orderId);
        await this.dropMarker(use.promotionId, `r-${orderId}`);
        const promo = await this.adapter.findById(use.promotionId);
        if (promo?.usageLimit != null && promo.usageCount + 1 >= promo.usageLimit)
          await this.announceChange();
        return { released: true };
      },
    },
  },

  methods: {
    async applyOnce(this: any, promotionId: string, token: string, filter: object, update: any) {
      const marker = holdField(token);
      const done = await this.updateOneIf(
        { _id: promotionId, kind: "promotion", [marker]: { $exists: false }, ...filter },
        { ...update, $set: { ...update.$set, [marker]: 1 } },
      );
      return Boolean(done) || this.hasMarker(promotionId, token);
    },

    async hasMarker(this: any, promotionId: string, token: string) {
      const cur = await this.adapter.findById(promotionId);
      return Boolean(cur?.holds?.[token]);
    },

    async undoCount(this: any, use: UseDoc) {
      await this.applyOnce(use.promotionId, `r-${use.orderId}`, {}, { $inc: countsOf(use, -1) });
    },

    async dropMarker(this: any, promotionId: string, token: string) {
      await this.updateOneIf(
        { _id: promotionId, [holdField(token)]: { $exists: true } },
        { $unset: { [holdField(token)]: 1 } },
      );
    },
  },
};
