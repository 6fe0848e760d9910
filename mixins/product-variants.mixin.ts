/**
 * The variant routes of the products service (API.md "Variants and options"): add, change and
 * remove one variant of a product. Each is one compare-and-set of the product document through
 * the service's `casWrite`, so the unique `skus` index and the product's event see the whole
 * product as it is after the change. A new variant's stock is set in inventory after the write;
 * if that fails the variant is taken out again, so nothing is left half-made.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import type { Meta, Variant, VariantInput } from "../contracts";
import { call } from "../lib/typed";
import { availableOf } from "./product-in-stock.mixin";
import { toEntry, variantsOf, withAvailable, type ProductDoc, type VariantDoc } from "../domain/catalog";
import { MAX_VARIANTS, checkPrices, checkVariantOptions, variantKey, type Problem } from "../domain/variants";

export const MONEY = { type: "number", integer: true, min: 0, max: 1e12 } as const;
export const PRICES = {
  type: "record",
  key: { type: "string", pattern: "^[A-Z]{3}$" },
  value: MONEY,
} as const;
export const SKU = { type: "string", trim: true, pattern: "^[A-Za-z0-9._-]{1,64}$" } as const;
export const STOCK = { type: "number", integer: true, min: 0, max: 1e9, optional: true } as const;
const LABEL = { type: "string", trim: true, min: 1, max: 50 } as const;
export const OPTION = {
  type: "object",
  strict: true,
  props: { name: LABEL, values: { type: "array", items: LABEL, min: 1, max: 50 } },
} as const;
export const VARIANT_OPTIONS = {
  type: "record",
  key: { type: "string", min: 1, max: 50 },
  value: LABEL,
} as const;
export const VARIANT = {
  type: "object",
  strict: true,
  props: {
    sku: SKU,
    options: VARIANT_OPTIONS,
    price: { ...MONEY, optional: true },
    prices: { ...PRICES, optional: true },
    stock: STOCK,
  },
} as const;
const ID = { type: "string", min: 1, max: 100 } as const;

type Change = (doc: ProductDoc) => { set: Partial<ProductDoc>; event: "updated" | "deleted" } | null;

export interface VariantsMethods {
  casWrite(id: string, change: Change): Promise<ProductDoc>;
  variantView(ctx: Context, doc: ProductDoc, variantId: string): Promise<Variant>;
}

export function invalid(problems: Problem[]): Errors.ValidationError {
  return new Errors.ValidationError("Invalid product", "VALIDATION_ERROR", problems);
}

function notFound(variantId: string) {
  return new Errors.MoleculerClientError("Variant not found", 404, "NOT_FOUND", { variantId });
}

/** The stored variants, the default one made explicit so it can be changed like the others. */
function storedVariants(doc: ProductDoc): VariantDoc[] {
  return doc.variants?.length ? doc.variants : variantsOf(doc).map((v) => ({ ...v, price: doc.basePrice }));
}

export const VariantsMixin: Partial<ServiceSchema> = {
  actions: {
    addVariant: {
      auth: "admin",
      params: { $$strict: true, id: ID, ...VARIANT.props },
      async handler(this: any, ctx: Context<VariantInput & { id: string }, Meta>): Promise<Variant> {
        const { id, stock = 0, ...input } = ctx.params;
        const bad = checkPrices(input.prices, "prices");
        if (bad.length) throw invalid(bad);
        const variantId = randomUUID();
        const doc: ProductDoc = await this.casWrite(id, (cur: ProductDoc) => {
          const options = cur.options ?? [];
          if (!options.length)
            throw new Errors.MoleculerClientError(
              "A product created without options has only its default variant",
              409,
              "PRODUCT_WITHOUT_OPTIONS",
              { id },
            );
          const problems = checkVariantOptions(options, input.options, "options");
          const key = variantKey(options, input.options);
          if (!problems.length && variantsOf(cur).some((v) => variantKey(options, v.options) === key))
            problems.push({
              field: "options",
              type: "duplicate",
              message: "A variant with these options exists",
            });
          if (variantsOf(cur).length >= MAX_VARIANTS)
            problems.push({ field: "id", type: "arrayMax", message: `At most ${MAX_VARIANTS} variants` });
          if (problems.length) throw invalid(problems);
          const variant: VariantDoc = { id: variantId, ...input, active: true };
          return { set: { variants: [...storedVariants(cur), variant] }, event: "updated" };
        });
        try {
          await call(ctx, "inventory.init", { productId: variantId, available: stock });
        } catch (err) {
          await this.casWrite(id, (cur: ProductDoc) => ({
            set: { variants: storedVariants(cur).filter((v) => v.id !== variantId) },
            event: "updated",
          })).catch(() => undefined);
          throw err;
        }
        await this.refreshInStock(await this.load(id));
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/products/${id}/variants/${variantId}`;
        return this.variantView(ctx, doc, variantId);
      },
    },

    updateVariant: {
      auth: "admin",
      params: {
        $$strict: true,
        id: ID,
        variantId: ID,
        sku: { ...SKU, optional: true },
        price: { ...MONEY, optional: true },
        prices: { ...PRICES, optional: true },
        active: { type: "boolean", optional: true },
      },
      async handler(
        this: any,
        ctx: Context<{ id: string; variantId: string } & Partial<VariantDoc>, Meta>,
      ): Promise<Variant> {
        const { id, variantId, ...fields } = ctx.params;
        const bad = checkPrices(fields.prices, "prices");
        if (bad.length) throw invalid(bad);
        const doc: ProductDoc = await this.casWrite(id, (cur: ProductDoc) => {
          const variants = storedVariants(cur);
          if (!variants.some((v) => v.id === variantId)) throw notFound(variantId);
          if (!Object.keys(fields).length) return null;
          // Making a simple product's only variant explicit keeps its SKU (and stock id) as they are.
          return {
            set: { variants: variants.map((v) => (v.id === variantId ? { ...v, ...fields } : v)) },
            event: "updated",
          };
        });
        if (fields.active !== undefined) await this.refreshInStock(doc);
        return this.variantView(ctx, doc, variantId);
      },
    },

    removeVariant: {
      auth: "admin",
      params: { $$strict: true, id: ID, variantId: ID },
      async handler(this: any, ctx: Context<{ id: string; variantId: string }, Meta>): Promise<null> {
        const { id, variantId } = ctx.params;
        await this.casWrite(id, (cur: ProductDoc) => {
          const variants = storedVariants(cur);
          if (!variants.some((v) => v.id === variantId)) throw notFound(variantId);
          if (variants.length === 1)
            throw new Errors.MoleculerClientError(
              "A product keeps at least one variant",
              409,
              "LAST_VARIANT",
              {
                variantId,
              },
            );
          return { set: { variants: variants.filter((v) => v.id !== variantId) }, event: "updated" };
        });
        await this.refreshInStock(await this.load(id));
        ctx.meta.$statusCode = 204;
        return null;
      },
    },
  },

  methods: {
    async variantView(this: any, ctx: Context, doc: ProductDoc, variantId: string): Promise<Variant> {
      const product = withAvailable(toEntry(doc), await availableOf(ctx, [variantId]));
      const variant = product.variants.find((v) => v.id === variantId);
      if (!variant) throw notFound(variantId);
      return variant;
    },
  },
};
