/**
 * Orders and the checkout saga. `place` prices the order from the catalogue (one line per
 * variant; an unknown, inactive or removed variant refuses the order: 422), stores it `pending`,
 * then drives it step by step (domain/order-state.ts SagaStep): reserve -> charge -> confirmed ->
 * commit -> clear the cart, all before answering. Each step is idempotent by order id and each
 * move to the next step is a compare-and-set, so any number of drivers may run one order: the
 * request, a duplicate request taking over, or recovery after a crash. A driver owns an order
 * for a lease (CHECKOUT_LEASE_SECONDS, renewed while a step runs) under a fencing token; recovery
 * claims orders whose lease ran out, and a driver that lost its order waits for the new owner's
 * outcome instead of moving it.
 *
 * The steps and the recovery are in mixins/order-saga.mixin.ts, the Idempotency-Key handling in
 * mixins/idempotency-key.mixin.ts (its records share this collection as `kind: "idem"`).
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import {
  Events,
  PricingCacheClean,
  type Actions,
  type Meta,
  type Order,
  type Page,
  type PlaceOrderParams,
} from "../contracts";
import { config } from "../lib/config";
import { call } from "../lib/typed";
import { DbMixin, type DbMethods, type DbVars } from "../mixins/db.mixin";
import { OutboxMixin, type OutboxMethods } from "../mixins/outbox.mixin";
import { RuleErrorsMixin } from "../mixins/rule-errors.mixin";
import { CachedReadsMixin, type CachedReadsMethods } from "../mixins/cached-reads.mixin";
import { IdempotencyKeyMixin, type IdempotencyMethods } from "../mixins/idempotency-key.mixin";
import { OrderSagaMixin, type SagaMethods, type SagaVars } from "../mixins/order-saga.mixin";
import { GuestOrdersMixin, type GuestOrderMethods } from "../mixins/guest-orders.mixin";
import { OrderRefundsMixin, type RefundMethods } from "../mixins/order-refunds.mixin";
import { OrderReturnsMixin } from "../mixins/order-returns.mixin";
import { OrderHoldsMixin, type HoldMethods, type HoldVars } from "../mixins/order-holds.mixin";
import { OrderRiskMixin, type RiskMethods, type RiskVars } from "../mixins/order-risk.mixin";
import { isDuplicateKey } from "../domain/catalog";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, pageWindow, totalPages } from "../domain/paging";
import { transition } from "../domain/order-state";
import { ISO_INSTANT, STATUS_WORD, orderListQuery } from "../domain/order-filters";
import { OrderStatsMixin } from "../mixins/admin-reads.mixin";
import type { StoredResponse } from "../domain/idempotency";
import { PLACE_ORDER_PARAMS, mergeResolved, newOrder, outcome, type OrderDoc } from "../domain/checkout";
import { invalidField } from "../domain/rule-error";
import { isCardToken } from "../domain/payments";
import { resolveOrderLines } from "../lib/catalog-lookup";
import { priceOrder } from "../lib/order-pricing";

const ID = { type: "string", min: 1, max: 100 } as const;

type Ctx<P> = Context<P, Meta>;
type Store = SagaVars &
  RiskVars &
  HoldVars &
  DbVars & {
    timers?: NodeJS.Timeout[];
  };
interface Methods
  extends
    SagaMethods,
    RiskMethods,
    HoldMethods,
    IdempotencyMethods,
    DbMethods,
    OutboxMethods,
    CachedReadsMethods,
    GuestOrderMethods,
    RefundMethods {
  /** Creates the order if it is new (this driver then holds it) and drives it to its answer. */
  checkout(
    ctx: Ctx<PlaceOrderParams>,
    orderId: string,
    resumed: boolean,
    owner?: string,
  ): Promise<StoredResponse>;
  draft(ctx: Ctx<PlaceOrderParams>, orderId: string): Promise<OrderDoc>;
  answer(ctx: Ctx<unknown>, res: StoredResponse): Order;
  own(ctx: Ctx<unknown>, id: string): Promise<OrderDoc>;
  sweepKeys(): Promise<void>;
}

const notFound = (id: string) => new Errors.MoleculerClientError("Order not found", 404, "NOT_FOUND", { id });

const OrdersService: ServiceSchema<ServiceSettingSchema, Methods, Store> = {
  name: "orders",
  mixins: [
    DbMixin({
      collection: "orders",
      // Only selective fields: NeDB keeps one index per field and rewrites a doc in every index on
      // each update, so a field with few values (kind, step) would cost O(orders) per write.
      indexes: [
        { fields: { userId: 1, createdAt: -1 } },
        { fields: { createdAt: -1 } },
        { fields: { leaseUntil: 1 }, sparse: true },
        { fields: { expiresAtMs: 1 }, sparse: true },
      ],
    }),
    OutboxMixin,
    RuleErrorsMixin,
    OrderSagaMixin,
    OrderRiskMixin,
    OrderHoldsMixin,
    IdempotencyKeyMixin,
    CachedReadsMixin({ event: PricingCacheClean, pattern: "pricing.**" }),
    GuestOrdersMixin,
    OrderRefundsMixin,
    OrderReturnsMixin,
    OrderStatsMixin,
  ],

  actions: {
    place: {
      auth: "required",
      guest: "cart",
      // Not retried by the broker: only an Idempotency-Key makes a second attempt safe.
      retryPolicy: { enabled: false },
      params: PLACE_ORDER_PARAMS,
      async handler(ctx: Ctx<PlaceOrderParams>): Promise<Order> {
        this.checkGuestHeaders(ctx);
        const key = ctx.meta.idempotencyKey;
        const res =
          key === undefined ? await this.checkout(ctx, randomUUID(), false) : await this.placeOnce(ctx, key);
        return this.answer(ctx, res);
      },
    },

    get: {
      auth: "required",
      guest: "order",
      params: { $$strict: true, id: ID },
      async handler(ctx: Ctx<{ id: string }>): Promise<Order> {
        return this.viewFor(ctx.meta.user, await this.synced(ctx, await this.own(ctx, ctx.params.id)));
      },
    },

    list: {
      auth: "required",
      params: {
        $$strict: true,
        page: { type: "number", integer: true, positive: true, convert: true, optional: true },
        pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
        userId: { ...ID, optional: true },
        // The admin app's filters: one status, and a window of createdAt (ISO-8601, [from, to)).
        status: { type: "string", pattern: STATUS_WORD, optional: true },
        from: { type: "string", max: 40, pattern: ISO_INSTANT, optional: true },
        to: { type: "string", max: 40, pattern: ISO_INSTANT, optional: true },
      },
      async handler(ctx: Ctx<Actions["orders.list"]["params"]>): Promise<Page<Order>> {
        const user = ctx.meta.user!;
        const page = ctx.params.page ?? 1;
        const pageSize = Math.min(ctx.params.pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
        const userId = user.role === "admin" ? ctx.params.userId : user.id;
        const query = {
          ...(userId ? { userId } : {}),
          kind: "order",
          hidden: false,
          ...orderListQuery(ctx.params),
        };
        const [docs, total] = await Promise.all([
          this.adapter.find({ query, sort: ["-createdAt", "_id"], ...pageWindow(page, pageSize) }),
          this.adapter.count({ query }),
        ]);
        return {
          rows: docs.map((d: OrderDoc) => this.viewFor(user, d)),
          total,
          page,
          pageSize,
          totalPages: totalPages(total, pageSize),
        };
      },
    },

    cancel: {
      auth: "required",
      guest: "order",
      params: { $$strict: true, id: ID },
      async handler(ctx: Ctx<{ id: string }>): Promise<Order> {
        for (;;) {
          const d = await this.own(ctx, ctx.params.id);
          const at = new Date();
          const reason =
            d.userId === (ctx.meta.user?.id ?? null) ? "cancelled_by_customer" : "cancelled_by_admin";
          const evt = this.newEvent(Events.orderCancelled, d._id, {
            orderId: d._id,
            userId: d.userId,
            reason,
          });
          const set = { ...transition(d, "cancelled", at.toISOString()), step: "cancel", reason };
          // The cancellation takes the order over from any driver still at commit or clearCart.
          const lease = { leaseUntil: at.getTime() + this.leaseMs, leaseOwner: randomUUID() };
          const update = { $set: { ...set, ...lease, updatedAt: at.toISOString() } };
          // Lost only to a concurrent change of the order: look again (it may now be a 409).
          if (await this.updateOneIf({ _id: d._id, status: d.status }, this.pushOutbox(update, [evt]))) {
            this.broker.metrics.increment("orders.total", { status: "cancelled" });
            // Refund and stock return happen here, before the 200; recovery finishes them after a crash.
            return this.viewFor(ctx.meta.user, await this.driveToEnd(ctx, d._id, false, lease.leaseOwner));
          }
        }
      },
    },

    setStatus: {
      auth: "admin",
      params: { $$strict: true, id: ID, status: { type: "enum", values: ["shipped", "delivered"] } },
      async handler(ctx: Ctx<{ id: string; status: "shipped" | "delivered" }>): Promise<Order> {
        for (;;) {
          const d = await this.own(ctx, ctx.params.id);
          const set = transition(d, ctx.params.status, new Date().toISOString());
          const done = await this.updateOneIf(
            { _id: d._id, status: d.status },
            { $set: { ...set, updatedAt: new Date().toISOString() } },
          );
          if (done) {
            this.broker.metrics.increment("orders.total", { status: ctx.params.status });
            return this.viewFor(ctx.meta.user, done);
          }
        }
      },
    },

    health: {
      async handler() {
        return { service: "orders", database: await this.dbPing() };
      },
    },
  },

  methods: {
    async checkout(
      ctx: Ctx<PlaceOrderParams>,
      orderId: string,
      resumed: boolean,
      owner?: string,
    ): Promise<StoredResponse> {
      if (!(await this.adapter.findById(orderId))) {
        const draft = await this.draft(ctx, orderId);
        await this.adapter.insert(draft).then(
          () => {
            owner = draft.leaseOwner;
            this.broker.metrics.increment("orders.total", { status: "pending" });
          },
          (err: unknown) => {
            if (!isDuplicateKey(err)) throw err;
          },
        );
      }
      return outcome(await this.driveToEnd(ctx, orderId, resumed, owner));
    },

    async draft(ctx: Ctx<PlaceOrderParams>, orderId: string): Promise<OrderDoc> {
      const { items, payment, regionId, shippingOptionId, promotionCode } = ctx.params;
      if (!isCardToken(config().payments.provider, payment.token))
        throw invalidField(
          "payment.token",
          "cardToken",
          "Not a card token of the configured payment provider",
        );
      const buyer = await this.buyerOf(ctx);
      const { userId, shippingAddress } = buyer;
      const field = items ? "items" : "cart";
      const cart = items
        ? { items, regionId: null }
        : (buyer.cart ?? (await call(ctx, "carts.linesOf", { userId: buyer.cartId })));
      const asked = cart.items;
      if (!asked.length) throw invalidField("items", "cartEmpty", "No items given and the cart is empty");
      const resolved = await resolveOrderLines(ctx, asked, field);
      const given = { regionId, shippingOptionId, promotionCode };
      const choices = { ...cart, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v)) };
      const { priced, pricing, total } = await priceOrder(ctx, mergeResolved(resolved), {
        field,
        choices,
        country: shippingAddress.country,
        buyer: { userId, email: buyer.email },
        cache: this.cached.bind(this),
      });
      const fromCart = !items;
      const order = newOrder({
        id: orderId,
        userId,
        priced,
        token: payment.token,
        shippingAddress,
        fromCart,
        nowMs: Date.now(),
        leaseMs: this.leaseMs,
        leaseOwner: randomUUID(),
      });
      // With a code, its use is counted first (saga step "promotion"), before any stock is held.
      return {
        ...order,
        ...pricing,
        total,
        step: pricing.promotionId ? "promotion" : order.step,
        ...this.guestFields(ctx, buyer, orderId),
      };
    },

    answer(ctx: Ctx<unknown>, res: StoredResponse): Order {
      if (!("body" in res))
        throw new Errors.MoleculerClientError(res.error.message, res.status, res.error.type, res.error.data);
      // 202: held for a risk review (mixins/order-risk.mixin.ts), or waiting for 3-D Secure.
      const order = this.withOrderToken(ctx, res.body as Order);
      ctx.meta.$statusCode = res.status;
      ctx.meta.$location = `/api/orders/${order.id}`;
      return order;
    },

    /** The order if the caller may see it: its owner, an admin, or a guest with its order token. Anything else is a 404. */
    async own(ctx: Ctx<unknown>, id: string): Promise<OrderDoc> {
      this.checkGuestHeaders(ctx);
      const user = ctx.meta.user;
      const d: OrderDoc | null = await this.adapter.findById(id);
      if (!d || d.kind !== "order" || d.hidden) throw notFound(id);
      if (user ? user.role !== "admin" && d.userId !== user.id : !this.guestMayRead(ctx, d))
        throw notFound(id);
      return d;
    },

    async sweepKeys(): Promise<void> {
      // Only key records carry expiresAtMs.
      await this.adapter.removeMany({ expiresAtMs: { $lt: Date.now() } });
    },
  },

  created() {
    const cfg = config();
    this.leaseMs = cfg.checkout.leaseSeconds * 1000;
    this.broker.metrics.register({
      type: "counter",
      name: "orders.total",
      labelNames: ["status"],
      description: "Orders moved to each status",
    });
  },

  async started() {
    // Recovery right away (orders a crashed node left behind), then periodically; keys hourly.
    setTimeout(() => void this.recover(), 0).unref?.();
    this.timers = [
      setInterval(() => void this.recover(), Math.min(10_000, Math.max(500, this.leaseMs / 2))),
      setInterval(
        () => this.sweepKeys().catch((err) => this.logger.warn("Key sweep failed", String(err))),
        3_600_000,
      ),
    ];
    for (const t of this.timers) t.unref?.();
  },

  async stopped() {
    for (const t of this.timers ?? []) clearInterval(t);
  },
};

export default OrdersService;
