/** domain/cart.ts CatalogLookup over the products service: a 404 is "gone" (null), anything else fails. */
import type { Context, ServiceBroker } from "moleculer";
import type { CatalogLookup } from "../domain/cart";
import { call } from "./typed";

const goneAsNull = (err: any) => (err?.code === 404 ? null : Promise.reject(err));

export function catalogLookup(via: Context | ServiceBroker): CatalogLookup {
  return {
    product: (id) => call(via, "products.get", { id }).catch(goneAsNull),
    productOf: (variantId) =>
      call(via, "products.variantOf", { variantId }).then((r) => r.productId, goneAsNull),
  };
}
