/** Catalogue products and lookups for the cart and checkout rules (domain/cart.ts CatalogLookup). */
import type { CatalogLookup, CatalogProduct, CatalogVariant } from "../../domain/cart";

/** A simple product: one default variant whose id is the product's id. */
export function simpleProduct(id: string, name: string, price: number, currency = "USD"): CatalogProduct {
  return {
    id,
    name,
    currency,
    active: true,
    variants: [{ id, sku: `${id.toUpperCase()}-SKU`, title: "Default", price, active: true }],
  };
}

/** A product with one variant per title ("M / Red"), ids `<id>-<n>`. */
export function variantProduct(
  id: string,
  name: string,
  variants: { title: string; price: number; active?: boolean }[],
  currency = "USD",
): CatalogProduct {
  return {
    id,
    name,
    currency,
    active: true,
    variants: variants.map((v, i) => ({
      id: `${id}-${i}`,
      sku: `${id.toUpperCase()}-${i}`,
      title: v.title,
      price: v.price,
      active: v.active ?? true,
    })),
  };
}

/** The orderable variant of a product (its only one, or `variantId`). */
export function variantFrom(product: CatalogProduct, variantId = product.variants[0].id): CatalogVariant {
  const v = product.variants.find((x) => x.id === variantId)!;
  return {
    productId: product.id,
    variantId: v.id,
    sku: v.sku,
    name: product.name,
    variantTitle: v.title,
    price: v.price,
    currency: product.currency,
    active: product.active && v.active,
  };
}

/** A lookup over fixed products: unknown ids are gone. */
export function lookupOf(...products: CatalogProduct[]): CatalogLookup {
  return {
    product: async (id) => products.find((p) => p.id === id) ?? null,
    productOf: async (variantId) =>
      products.find((p) => p.variants.some((v) => v.id === variantId))?.id ?? null,
  };
}
