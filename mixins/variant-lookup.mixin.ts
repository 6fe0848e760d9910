/**
 * products.variantOf: the product a variant id belongs to, for carts and orders given only a
 * `variantId` (API.md "Variants and options"). A simple product's default variant has the
 * product's id, so that id answers itself. Served from the `variants.id` index and kept in the
 * products cache (cleared with every other product read).
 */
import { Errors, type Context, type ServiceSchema } from "moleculer";
import type { Meta } from "../contracts";
import { variantsOf, type ProductDoc } from "../domain/catalog";

const ID = { type: "string", min: 1, max: 100 } as const;

export const VariantLookupMixin: Partial<ServiceSchema> = {
  actions: {
    variantOf: {
      visibility: "public",
      params: { $$strict: true, variantId: ID },
      async handler(this: any, ctx: Context<{ variantId: string }, Meta>): Promise<{ productId: string }> {
        const { variantId } = ctx.params;
        return this.cached(`products.variantOf:${variantId}`, async () => {
          const own: ProductDoc | null = await this.adapter.findById(variantId);
          const doc: ProductDoc | null =
            own && !own.deleted && variantsOf(own).some((v) => v.id === variantId)
              ? own
              : await this.adapter.findOne({ "variants.id": variantId, deleted: false });
          if (!doc)
            throw new Errors.MoleculerClientError("Variant not found", 404, "NOT_FOUND", { variantId });
          return { productId: doc._id };
        });
      },
    },
  },
};
