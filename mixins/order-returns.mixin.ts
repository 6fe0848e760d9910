/**
 * Returns of shipped or delivered orders (API.md "Refunds and returns"), for the orders
 * service: stored beside the orders (`kind: "return"`), quantities counted on the order.
 *
 * What must stay true:
 * - No variant is returned more than it was ordered: the order's `returnedLines` (requested and
 *   refunded returns) changes only by a compare-and-set on `returnsRev`, so two concurrent
 *   requests cannot both count the same units. A rejected return gives its units back.
 * - Receiving is resumable and happens once: requested → receiving (one CAS), the stock goes
 *   back once per return and line (inventory's own once-key), the refund once (its id derives
 *   from the return's), then receiving → refunded. A crash in between: receive it again.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import {
  Events,
  type Meta,
  type OrderReturn,
  type Page,
  type ReturnLine,
  type ReturnStatus,
} from "../contracts";
import { call } from "../lib/typed";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, pageWindow, totalPages } from "../domain/paging";
import {
  RETURNABLE_STATUSES,
  amountsOf,
  refundable,
  returnLines,
  returnRefundAmount,
  sumLines,
} from "../domain/refunds";
import type { OrderDoc } from "../domain/checkout";
import { now } from "./checkout-steps";
import type { RefundDoc } from "./order-refunds.mixin";

const ID = { type: "string", min: 1, max: 100 } as const;
const REASON = { type: "string", trim: true, min: 1, max: 500 } as const;

export interface ReturnDoc extends Omit<OrderReturn, "id"> {
  _id: string;
  kind: "return";
  /** Until the order has counted its lines: never listed. */
  hidden: boolean;
}

const returnView = (r: ReturnDoc): OrderReturn => ({
  id: r._id,
  orderId: r.orderId,
  userId: r.userId,
  items: r.items,
  reason: r.reason,
  status: r.status,
  refundAmount: r.refundAmount,
  ...(r.refundId ? { refundId: r.refundId } : {}),
  ...(r.rejectReason ? { rejectReason: r.rejectReason } : {}),
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

const conflict = (message: string, type: string, data: object) =>
  new Errors.MoleculerClientError(message, 409, type, data);

/** returnedLines less one return's lines. */
function without(lines: readonly ReturnLine[], gone: readonly ReturnLine[]): ReturnLine[] {
  const left = sumLines(lines);
  for (const [variantId, q] of sumLines(gone)) left.set(variantId, (left.get(variantId) ?? 0) - q);
  return [...left].filter(([, q]) => q > 0).map(([variantId, quantity]) => ({ variantId, quantity }));
}

export const OrderReturnsMixin: ServiceSchema = {
  name: "",
  actions: {
    requestReturn: {
      auth: "required",
      params: {
        $$strict: true,
        id: ID,
        items: {
          type: "array",
          min: 1,
          max: 100,
          items: {
            type: "object",
            strict: true,
            props: { variantId: ID, quantity: { type: "number", integer: true, min: 1, max: 1e6 } },
          },
        },
        reason: REASON,
      },
      async handler(this: any, ctx: Context<{ id: string; items: ReturnLine[]; reason: string }, Meta>) {
        const first: OrderDoc = await this.own(ctx, ctx.params.id);
        const at = now();
        const doc: ReturnDoc = {
          _id: `ret_${randomUUID()}`,
          kind: "return",
          hidden: true,
          orderId: first._id,
          userId: first.userId,
          items: [],
          reason: ctx.params.reason,
          status: "requested",
          refundAmount: 0,
          createdAt: at,
          updatedAt: at,
        };
        for (let d = first; ; d = await this.own(ctx, ctx.params.id)) {
          if (!RETURNABLE_STATUSES.includes(d.status))
            throw conflict(`An order in status ${d.status} cannot be returned`, "ORDER_NOT_RETURNABLE", {
              status: d.status,
            });
          const { lines, priced } = returnLines(d.items, ctx.params.items, d.returnedLines ?? []);
          const refundAmount = returnRefundAmount(priced, amountsOf(d));
          if (!doc.items.length) await this.adapter.insert({ ...doc, items: lines, refundAmount });
          const evt = this.newEvent(Events.returnRequested, d._id, {
            returnId: doc._id,
            orderId: d._id,
            userId: d.userId,
            items: lines,
            reason: ctx.params.reason,
            refundAmount,
            currency: d.currency,
          });
          doc.items = lines;
          const counted = await this.updateOneIf(
            {
              _id: d._id,
              returnsRev: d.returnsRev ?? { $exists: false },
              status: { $in: [...RETURNABLE_STATUSES] },
            },
            this.pushOutbox(
              {
                $set: { returnedLines: [...(d.returnedLines ?? []), ...lines], updatedAt: now() },
                $inc: { returnsRev: 1 },
                $push: { returns: doc._id },
              },
              [evt],
            ),
          );
          if (!counted) continue; // another return or status change came first: check again
          this.flushSoon(d._id);
          const shown = await this.updateOneIf(
            { _id: doc._id },
            { $set: { hidden: false, items: lines, refundAmount, updatedAt: now() } },
          );
          ctx.meta.$statusCode = 201;
          return returnView(shown);
        }
      },
    },

    listReturns: {
      auth: "required",
      params: {
        $$strict: true,
        page: { type: "number", integer: true, positive: true, convert: true, optional: true },
        pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
        status: { type: "enum", values: ["requested", "receiving", "refunded", "rejected"], optional: true },
      },
      async handler(
        this: any,
        ctx: Context<{ page?: number; pageSize?: number; status?: ReturnStatus }, Meta>,
      ): Promise<Page<OrderReturn>> {
        const user = ctx.meta.user!;
        const page = ctx.params.page ?? 1;
        const pageSize = Math.min(ctx.params.pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
        const query = {
          kind: "return",
          hidden: false,
          ...(user.role === "admin" ? {} : { userId: user.id }),
          ...(ctx.params.status ? { status: ctx.params.status } : {}),
        };
        const [docs, total] = await Promise.all([
          this.adapter.find({ query, sort: ["-createdAt", "_id"], ...pageWindow(page, pageSize) }),
          this.adapter.count({ query }),
        ]);
        return { rows: docs.map(returnView), total, page, pageSize, totalPages: totalPages(total, pageSize) };
      },
    },

    receiveReturn: {
      auth: "admin",
      params: { $$strict: true, id: ID, restock: { type: "boolean", optional: true } },
      async handler(this: any, ctx: Context<{ id: string; restock?: boolean }, Meta>): Promise<OrderReturn> {
        let r: ReturnDoc = await this.returnOf(ctx.params.id);
        if (r.status === "requested")
          r =
            (await this.updateOneIf(
              { _id: r._id, status: "requested" },
              { $set: { status: "receiving", restock: ctx.params.restock ?? true, updatedAt: now() } },
            )) ?? (await this.returnOf(r._id));
        if (r.status !== "receiving")
          throw conflict(`A return in status ${r.status} cannot be received`, "RETURN_NOT_REQUESTED", {
            status: r.status,
          });
        if ((r as any).restock !== false)
          for (const line of r.items)
            await call(ctx, "inventory.restock", {
              productId: line.variantId,
              quantity: line.quantity,
              key: `return:${r._id}:${line.variantId}`,
            });
        const order: OrderDoc = await this.adapter.findById(r.orderId);
        const refundId = `ref_${r._id}`;
        // Never more than is left to refund (a refund may have come since the request).
        const amount = order.refundIds?.includes(refundId)
          ? r.refundAmount
          : Math.min(r.refundAmount, refundable(amountsOf(order)));
        let refund: RefundDoc | null = null;
        if (amount > 0) refund = await this.refundOrder(ctx, order, amount, `return ${r._id}`, refundId);
        const done = await this.updateOneIf(
          { _id: r._id, status: "receiving" },
          {
            $set: {
              status: "refunded",
              refundAmount: amount,
              ...(refund ? { refundId } : {}),
              updatedAt: now(),
            },
          },
        );
        return returnView(done ?? (await this.returnOf(r._id)));
      },
    },

    rejectReturn: {
      auth: "admin",
      params: { $$strict: true, id: ID, reason: REASON },
      async handler(this: any, ctx: Context<{ id: string; reason: string }, Meta>): Promise<OrderReturn> {
        const r: ReturnDoc = await this.returnOf(ctx.params.id);
        const done: ReturnDoc | null = await this.updateOneIf(
          { _id: r._id, status: "requested" },
          { $set: { status: "rejected", rejectReason: ctx.params.reason, updatedAt: now() } },
        );
        if (!done)
          throw conflict(`A return in status ${r.status} cannot be rejected`, "RETURN_NOT_REQUESTED", {
            status: r.status,
          });
        // Its units may be returned again.
        for (;;) {
          const d: OrderDoc = await this.adapter.findById(r.orderId);
          const given = await this.updateOneIf(
            { _id: d._id, returnsRev: d.returnsRev },
            { $set: { returnedLines: without(d.returnedLines ?? [], r.items) }, $inc: { returnsRev: 1 } },
          );
          if (given) break;
        }
        return returnView(done);
      },
    },
  },

  methods: {
    /** The return if the caller may see it (admin routes only call this). */
    async returnOf(this: any, id: string): Promise<ReturnDoc> {
      const r: ReturnDoc | null = await this.adapter.findById(id);
      if (!r || r.kind !== "return" || r.hidden)
        throw new Errors.MoleculerClientError("Return not found", 404, "NOT_FOUND", { id });
      return r;
    },
  },
};
