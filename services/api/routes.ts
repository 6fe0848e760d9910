/** The gateway's route table: only the aliases listed here are reachable from HTTP. */

/** Public REST routes: "METHOD /path" -> action. Readiness waits for every service named here. */
export const API_ALIASES: Record<string, string> = {
  "GET /.well-known/jwks.json": "tokens.jwks",
  "POST /user/signup": "users.signup",
  "POST /user/login": "users.login",
  "POST /user/logout": "tokens.revoke",
  "POST /refresh-token": "tokens.refresh",
  "GET /user/me": "users.me",
  "PATCH /user/me": "users.updateMe",
  "GET /users": "users.list",
  "GET /products": "api.products",
  "GET /products/facets": "api.facets",
  "GET /products/:id": "api.product",
  "POST /products": "products.create",
  "PATCH /products/:id": "products.update",
  "DELETE /products/:id": "products.remove",
  "POST /products/:id/variants": "products.addVariant",
  "PATCH /products/:id/variants/:variantId": "products.updateVariant",
  "DELETE /products/:id/variants/:variantId": "products.removeVariant",
  "GET /inventory/:productId": "inventory.get",
  "PUT /inventory/:productId": "inventory.set",
  "GET /cart": "carts.get",
  "POST /cart/items": "carts.addItem",
  "PATCH /cart/items/:productId": "carts.updateItem",
  "DELETE /cart/items/:productId": "carts.removeItem",
  "DELETE /cart": "carts.clear",
  "POST /orders": "orders.place",
  "GET /orders": "orders.list",
  "GET /orders/:id": "orders.get",
  "POST /orders/:id/cancel": "orders.cancel",
  "PATCH /orders/:id/status": "orders.setStatus",
  "POST /payments/webhook": "payments.webhook",
  "GET /notifications": "notifications.list",
  "GET /admin/stats": "api.adminStats",
};

/** The API's own documentation (not services: readiness does not wait for them). */
export const DOCS_ALIASES: Record<string, string> = {
  "GET /openapi.json": "api.openapi",
  "GET /docs": "api.docs",
  "GET /docs/assets/:file": "api.docsAsset",
};

/**
 * Hot public catalogue reads answered from this gateway's cache, saving the hop to products.
 * The keys live under `products.**`, so every write's invalidation clears them too.
 */
export const GATEWAY_READS: Record<string, string> = {
  "api.products": "products.list",
  "api.facets": "products.facets",
  "api.product": "products.get",
};

export function routedServices(aliases: Record<string, string> = API_ALIASES): string[] {
  const actions = Object.values(aliases).map((a) => GATEWAY_READS[a] ?? a);
  // The gateway's own actions (api.adminStats) are answered here: nothing to wait for.
  return [...new Set(actions.map((a) => a.slice(0, a.lastIndexOf("."))))].filter((s) => s !== "api").sort();
}

/** A cache key for query params whatever their order (invalid ones never reach the cache). */
export function readKey(action: string, params: Record<string, unknown>): string {
  return `products.gw.${action}:${JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  )}`;
}
