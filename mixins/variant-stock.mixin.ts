/**
 * What inventory knows of products (API.md "Variants and options"): stock is kept per variant,
 * so GET/PUT /api/inventory/:id ask the catalogue whether an id is a product's, and variant
 * stock records which product it belongs to (from product events) for `inventory.low`.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { Product } from "../contracts";
import { call } from "../lib/typed";

export interface VariantStockMethods {
  /** Records on variant stock which product it belongs to (for inventory.low's productId). */
  stampOwner(productId: string, variants: { variantId: string }[] | undefined): Promise<void>;
  /**
   * Tombstones the stock of a product's variants that are gone (all of them when `keep` is
   * empty), so they leave stock lists and low-stock reports and a late event cannot revive them.
   */
  retireStock(productId: string, keep: string[]): Promise<number>;
  /** The product with this id, or null when the id is not a product's (a variant's, or unknown). */
  productOf(ctx: Context, id: string): Promise<Product | null>;
}

export const VariantStockMixin: Partial<ServiceSchema> = {
  methods: {
    async stampOwner(this: any, productId: string, variants: { variantId: string }[] | undefined) {
      // A simple product's one stock is under its own id: nothing to record.
      const ids = (variants ?? []).map((v) => v.variantId).filter((id) => id !== productId);
      if (!ids.length) return;
      await this.adapter.updateMany(
        { _id: { $in: ids }, kind: "stock", ownerId: { $exists: false } },
        { $set: { ownerId: productId } },
      );
    },

    async retireStock(this: any, productId: string, keep: string[]): Promise<number> {
      const changed = await this.adapter.updateMany(
        { kind: "stock", ownerId: productId, deleted: { $ne: true }, _id: { $nin: keep } },
        { $set: { deleted: true, available: 0 } },
      );
      return Number(changed) || 0;
    },

    productOf(ctx: Context, id: string): Promise<Product | null> {
      return call(ctx, "products.get", { id }).catch((err) =>
        err?.code === 404 ? null : Promise.reject(err),
      );
    },
  },
};
