/**
 * The reads behind GET /api/admin/stats, one small internal action per owning service (each reads
 * only its own collection; mixins/admin-stats.mixin.ts on the gateway puts them together).
 */
import type { Context, ServiceSchema } from "moleculer";
import type { LowStockLevel, Meta, OrderStats } from "../contracts";
import { orderStats, type OrderFigures } from "../domain/admin-stats";
import type { StockDoc } from "../domain/inventory";

const ISO = { type: "string", min: 10, max: 40 } as const;
/** The dashboard lists the lowest levels first; more than this would not be read. */
export const LOW_STOCK_LIMIT = 100;

/** orders.stats: the figures of the orders placed in [from, to). */
export const OrderStatsMixin: Partial<ServiceSchema> = {
  actions: {
    stats: {
      visibility: "public",
      params: { $$strict: true, from: ISO, to: ISO },
      async handler(this: any, ctx: Context<{ from: string; to: string }, Meta>): Promise<OrderStats> {
        const { from, to } = ctx.params;
        const docs: OrderFigures[] = await this.adapter.find({
          query: { kind: "order", hidden: false, createdAt: { $gte: from, $lt: to } },
        });
        return orderStats(docs);
      },
    },
  },
};

/** inventory.lowStock: stock records (variants) below `threshold`, lowest first. */
export const LowStockMixin: Partial<ServiceSchema> = {
  actions: {
    lowStock: {
      visibility: "public",
      params: { $$strict: true, threshold: { type: "number", integer: true, min: 0 } },
      async handler(this: any, ctx: Context<{ threshold: number }, Meta>): Promise<LowStockLevel[]> {
        const docs: StockDoc[] = await this.adapter.find({
          query: { kind: "stock", deleted: false, available: { $lt: ctx.params.threshold } },
          sort: ["available", "_id"],
          limit: LOW_STOCK_LIMIT,
        });
        return docs.map((d) => ({ variantId: d._id, productId: d.ownerId ?? d._id, available: d.available }));
      },
    },
  },
};

/** users.countCustomers: customer accounts created before `to`. */
export const CustomerCountMixin: Partial<ServiceSchema> = {
  actions: {
    countCustomers: {
      visibility: "public",
      params: { $$strict: true, to: ISO },
      async handler(this: any, ctx: Context<{ to: string }, Meta>): Promise<{ customers: number }> {
        const customers: number = await this.adapter.count({
          query: { role: "customer", createdAt: { $lt: ctx.params.to } },
        });
        return { customers };
      },
    },
  },
};
