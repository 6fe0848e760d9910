/**
 * GET /api/admin/stats (API.md "Admin") on the gateway: the window is checked here (a bad date is
 * a 422 naming `from` or `to`), then orders, inventory and users each answer for their own
 * collection, and products names the low-stock variants (only active variants of live products).
 */
import { Errors, type Context, type ServiceSchema } from "moleculer";
import type { AdminStats, LowStockRow, Meta, Product } from "../contracts";
import { statsWindow } from "../domain/admin-stats";
import { config } from "../lib/config";
import { call } from "../lib/typed";

const DATE = { type: "string", max: 40, optional: true } as const;

export const AdminStatsMixin: Partial<ServiceSchema> = {
  actions: {
    adminStats: {
      visibility: "published",
      auth: "admin",
      params: { $$strict: true, from: DATE, to: DATE },
      async handler(this: any, ctx: Context<{ from?: string; to?: string }, Meta>): Promise<AdminStats> {
        const checked = statsWindow(ctx.params, Date.now());
        if ("errors" in checked)
          throw new Errors.ValidationError("Invalid date window", "VALIDATION_ERROR", checked.errors);
        const { from, to } = checked.window;
        const [orders, levels, users] = await Promise.all([
          call(ctx, "orders.stats", { from, to }),
          call(ctx, "inventory.lowStock", { threshold: this.lowStockThreshold }),
          call(ctx, "users.countCustomers", { to }),
        ]);
        const products = new Map<string, Product | null>();
        await Promise.all(
          [...new Set(levels.map((l) => l.productId))].map(async (id) =>
            products.set(
              id,
              await call(ctx, "products.get", { id }).catch((err: any) =>
                err?.code === 404 ? null : Promise.reject(err),
              ),
            ),
          ),
        );
        const lowStock: LowStockRow[] = levels.flatMap((level) => {
          const product = products.get(level.productId);
          const variant = product?.active
            ? product.variants.find((v) => v.id === level.variantId)
            : undefined;
          return variant?.active ? [{ ...level, sku: variant.sku }] : [];
        });
        return {
          from,
          to,
          ordersByDay: orders.ordersByDay,
          totals: { ...orders.totals, customers: users.customers },
          lowStock,
          statusCounts: orders.statusCounts,
        };
      },
    },
  },
  created(this: any) {
    this.lowStockThreshold = config().lowStockThreshold;
  },
};
