/** domain/cart.ts CatalogLookup over the products service: a 404 is "gone" (null), anything else fails. */
import type { Context, ServiceBroker } from "moleculer";
import type { LineRequest } from "../contracts";
import { resolveVariant, type CatalogLookup } from "../domain/cart";
import type { ResolvedLine } from "../domain/checkout";
import { invalidField } from "../domain/rule-error";
import { call } from "./typed";

const goneAsNull = (err: any) => (err?.code === 404 ? null : Promise.reject(err));

export function catalogLookup(via: Context | ServiceBroker): CatalogLookup {
  return {
    product: (id) => call(via, "products.get", { id }).catch(goneAsNull),
    productOf: (variantId) =>
      call(via, "products.variantOf", { variantId }).then((r) => r.productId, goneAsNull),
  };
}

/**
 * An order's requested lines with their variants, each checked orderable; an unknown product or
 * variant is a 422 naming the line (`items[1].productId`), like any other bad line.
 */
export async function resolveOrderLines(
  via: Context | ServiceBroker,
  asked: readonly LineRequest[],
  field: "items" | "cart",
): Promise<ResolvedLine[]> {
  const lookup = catalogLookup(via);
  const notFound = (i: number) => (key: "productId" | "variantId", id: string) =>
    invalidField(
      `${field}[${i}].${key}`,
      "notFound",
      `${key === "productId" ? "Product" : "Variant"} ${id} does not exist`,
    );
  // Settled all, so the 422 names the first bad line whichever lookup answers first.
  const settled = await Promise.allSettled(
    asked.map(async (line, i) => ({
      variant: await resolveVariant(line, lookup, `${field}[${i}].`, notFound(i)),
      quantity: line.quantity,
    })),
  );
  const refused = settled.find((r) => r.status === "rejected");
  if (refused) throw refused.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<ResolvedLine>).value);
}
