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
  "POST /payments/stripe/webhook": "payments.stripeWebhook",
  "POST /orders/:id/refunds": "orders.refund",
  "POST /orders/:id/returns": "orders.requestReturn",
  "GET /returns": "orders.listReturns",
  "POST /returns/:id/receive": "orders.receiveReturn",
  "POST /returns/:id/reject": "orders.rejectReturn",
  "GET /notifications": "notifications.list",
  "GET /regions": "pricing.listRegions",
  "POST /regions": "pricing.createRegion",
  "PATCH /regions/:id": "pricing.updateRegion",
  "DELETE /regions/:id": "pricing.removeRegion",
  "GET /shipping-options": "pricing.listShippingOptions",
  "POST /shipping-options": "pricing.createShippingOption",
  "PATCH /shipping-options/:id": "pricing.updateShippingOption",
  "DELETE /shipping-options/:id": "pricing.removeShippingOption",
  "GET /promotions": "pricing.listPromotions",
  "POST /promotions": "pricing.createPromotion",
  "PATCH /promotions/:id": "pricing.updatePromotion",
  "DELETE /promotions/:id": "pricing.removePromotion",
  "PATCH /cart": "carts.setPricing",
  "POST /cart/promotions": "carts.applyPromotion",
  "DELETE /cart/promotions/:code": "carts.removePromotion",
  // Guest carts, addresses, personal data (API.md "Guest carts, guest checkout, ...").
  "POST /carts": "carts.create",
  "GET /user/addresses": "users.addresses",
  "POST /user/addresses": "users.addAddress",
  "PATCH /user/addresses/:id": "users.updateAddress",
  "DELETE /user/addresses/:id": "users.removeAddress",
  "GET /user/me/export": "users.exportMe",
  "DELETE /user/me": "users.deleteMe",
  "POST /orders/:id/review": "orders.review",
  "GET /products/:id/recommendations": "recommendations.forProduct",
  "GET /user/recommendations": "recommendations.forUser",
  "GET /webhooks": "webhooks.list",
  "POST /webhooks": "webhooks.create",
  "PATCH /webhooks/:id": "webhooks.update",
  "DELETE /webhooks/:id": "webhooks.remove",
  "GET /webhooks/:id/deliveries": "webhooks.deliveries",
  "GET /admin/stats": "api.adminStats",
};

/**
 * Routed services the gateway is ready without: while none runs, their routes answer 503 and
 * /health/ready says `degraded`: a shop sells without them (recommendations), and no order waits
 * on webhooks, whose events wait in their consumer group meanwhile.
 */
export const OPTIONAL_SERVICES: readonly string[] = ["recommendations", "webhooks"];

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
