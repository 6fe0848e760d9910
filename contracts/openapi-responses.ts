/**
 * The hand-written half of the OpenAPI document (lib/openapi.ts generates the rest): what each
 * public route answers on success, the route-specific errors, and the schemas of API.md's objects.
 * Keyed like API_ALIASES ("METHOD /path", relative to /api); a test fails if a route is missing here.
 */

export type JsonSchema = Record<string, unknown>;

export interface RouteDoc {
  summary: string;
  /** The success status and its body (none for a 204). */
  status: number;
  schema?: JsonSchema;
  /** Errors particular to this route; 400/401/403/413/422/429 are derived from the route itself. */
  errors?: Record<number, string>;
  /** Request headers the route reads besides Authorization. */
  headers?: { name: string; description: string; required?: boolean; schema: JsonSchema }[];
}

import { PRICING_ROUTE_DOCS, PRICING_SCHEMAS, PRICING_TOTALS_PROPS } from "./openapi-pricing";

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const page = (item: string): JsonSchema => ({
  allOf: [ref("Page"), { type: "object", properties: { rows: { type: "array", items: ref(item) } } }],
});

const str = { type: "string" };
const int = { type: "integer" };
const timestamp = { type: "string", format: "date-time" };
const line = {
  type: "object",
  required: ["productId", "name", "unitPrice", "quantity", "lineTotal"],
  properties: {
    productId: str,
    variantId: str,
    sku: str,
    name: str,
    variantTitle: str,
    unitPrice: int,
    quantity: int,
    lineTotal: int,
  },
};
const prices = { type: "object", additionalProperties: { type: "integer", minimum: 0 } };
const facetCounts = {
  type: "array",
  items: { type: "object", required: ["value", "count"], properties: { value: str, count: int } },
};
const orderStatus = {
  type: "string",
  enum: [
    "pending",
    "confirmed",
    "shipped",
    "delivered",
    "payment_failed",
    "cancelled",
    "requires_action",
    "on_hold",
  ],
};
const returnLine = {
  type: "object",
  required: ["variantId", "quantity"],
  properties: { variantId: str, quantity: { type: "integer", minimum: 1 } },
};

export const OPENAPI_SCHEMAS: Record<string, JsonSchema> = {
  Error: {
    type: "object",
    description: "Every error; the HTTP status equals `code`. A 422 lists the offending fields in `data`.",
    required: ["name", "message", "code", "type", "data"],
    properties: {
      name: str,
      message: str,
      code: { type: "integer", minimum: 400, maximum: 599 },
      type: str,
      data: {
        type: ["object", "array"],
        items: {
          type: "object",
          properties: { field: str, type: str, message: str },
        },
      },
    },
  },
  Page: {
    type: "object",
    required: ["rows", "total", "page", "pageSize", "totalPages"],
    properties: {
      rows: { type: "array" },
      total: { type: "integer", minimum: 0 },
      page: { type: "integer", minimum: 1 },
      pageSize: { type: "integer", minimum: 1, maximum: 100 },
      totalPages: { type: "integer", minimum: 0 },
    },
  },
  User: {
    type: "object",
    required: ["id", "email", "name", "role", "notifications", "createdAt"],
    properties: {
      id: str,
      email: str,
      name: str,
      phone: str,
      role: { type: "string", enum: ["customer", "admin"] },
      notifications: {
        type: "object",
        required: ["email", "sms"],
        properties: { email: { type: "boolean" }, sms: { type: "boolean" } },
      },
      createdAt: timestamp,
    },
  },
  TokenPair: {
    type: "object",
    required: ["accessToken", "refreshToken", "expiresIn"],
    properties: { accessToken: str, refreshToken: str, expiresIn: { type: "integer", minimum: 0 } },
  },
  Session: {
    allOf: [ref("TokenPair"), { type: "object", required: ["user"], properties: { user: ref("User") } }],
  },
  Jwks: {
    type: "object",
    required: ["keys"],
    properties: {
      keys: {
        type: "array",
        items: {
          type: "object",
          required: ["kty", "kid", "alg", "use"],
          properties: { kty: str, kid: str, alg: str, use: { type: "string", enum: ["sig"] } },
        },
      },
    },
  },
  Product: {
    type: "object",
    required: [
      "id",
      "sku",
      "name",
      "description",
      "price",
      "currency",
      "category",
      "images",
      "active",
      "available",
      "createdAt",
      "updatedAt",
    ],
    properties: {
      id: str,
      sku: str,
      name: str,
      description: str,
      price: { type: "integer", minimum: 0 },
      currency: str,
      category: str,
      images: { type: "array", items: str },
      active: { type: "boolean" },
      available: { type: "integer", minimum: 0 },
      prices,
      options: {
        type: "array",
        items: {
          type: "object",
          required: ["name", "values"],
          properties: { name: str, values: { type: "array", items: str } },
        },
      },
      variants: { type: "array", items: ref("Variant") },
      createdAt: timestamp,
      updatedAt: timestamp,
    },
  },
  Variant: {
    type: "object",
    description: "A product without options has one default variant whose id is the product's id.",
    required: ["id", "sku", "title", "options", "price", "currency", "prices", "available", "active"],
    properties: {
      id: str,
      sku: str,
      title: str,
      options: { type: "object", additionalProperties: str },
      price: { type: "integer", minimum: 0 },
      currency: str,
      prices,
      available: { type: "integer", minimum: 0 },
      active: { type: "boolean" },
    },
  },
  Facets: {
    type: "object",
    required: ["categories", "options", "price"],
    properties: {
      categories: facetCounts,
      options: { type: "object", additionalProperties: facetCounts },
      price: {
        type: "object",
        required: ["min", "max"],
        properties: { min: { type: ["integer", "null"] }, max: { type: ["integer", "null"] } },
      },
    },
  },
  StockLevel: {
    type: "object",
    required: ["productId", "available", "reserved"],
    properties: {
      productId: str,
      available: { type: "integer", minimum: 0 },
      reserved: { type: "integer", minimum: 0 },
    },
  },
  Cart: {
    type: "object",
    required: ["id", "items", "subtotal", "currency", "updatedAt"],
    properties: {
      id: str,
      items: { type: "array", items: line },
      subtotal: int,
      currency: str,
      updatedAt: timestamp,
      ...PRICING_TOTALS_PROPS,
    },
  },
  Order: {
    type: "object",
    required: [
      "id",
      "userId",
      "items",
      "subtotal",
      "total",
      "currency",
      "status",
      "payment",
      "shippingAddress",
      "history",
      "createdAt",
      "updatedAt",
    ],
    properties: {
      id: str,
      userId: { type: ["string", "null"], description: "null for a guest's order" },
      email: { type: "string", description: "A guest order's buyer address" },
      orderToken: {
        type: "string",
        description:
          "Only in the 201 of a guest checkout (and its Idempotency-Key replay): the X-Order-Token",
      },
      items: { type: "array", items: line },
      subtotal: int,
      total: int,
      currency: str,
      status: orderStatus,
      payment: {
        type: "object",
        required: ["id", "status"],
        properties: {
          id: { type: ["string", "null"] },
          status: {
            type: "string",
            enum: ["pending", "processing", "succeeded", "failed", "refunded", "voided", "requires_action"],
          },
          clientSecret: {
            ...str,
            description: "Only while requires_action: for Stripe.js to finish 3-D Secure",
          },
        },
      },
      refundedTotal: { ...int, description: "Refunded so far (partial refunds, returns, cancellation)" },
      returns: { type: "array", items: str, description: "Ids of the order's returns" },
      shippingAddress: {
        type: "object",
        // An erased user's orders keep only the country.
        required: ["country"],
        properties: { name: str, line1: str, line2: str, city: str, postalCode: str, country: str },
      },
      history: {
        type: "array",
        items: {
          type: "object",
          required: ["status", "at"],
          properties: { status: orderStatus, at: timestamp },
        },
      },
      createdAt: timestamp,
      updatedAt: timestamp,
      ...PRICING_TOTALS_PROPS,
      risk: {
        type: "object",
        description:
          "Admins only: the order's fraud risk, scored before the charge. Never in a customer's answer.",
        required: ["score", "level", "reasons"],
        properties: {
          score: { type: "integer", minimum: 0, maximum: 100 },
          level: { type: "string", enum: ["low", "elevated", "high"] },
          reasons: { type: "array", items: str },
        },
      },
    },
  },
  Recommendations: {
    type: "object",
    required: ["rows", "strategy"],
    properties: {
      rows: { type: "array", maxItems: 12, items: ref("Product") },
      strategy: { type: "string", enum: ["bought_together", "popular_in_category", "for_you", "popular"] },
    },
  },
  Delivery: {
    type: "object",
    required: ["id", "channel", "template", "to", "status", "eventId", "createdAt"],
    properties: {
      id: str,
      channel: { type: "string", enum: ["email", "sms"] },
      template: str,
      to: { type: ["string", "null"] },
      status: { type: "string", enum: ["sent", "failed", "skipped"] },
      eventId: str,
      createdAt: timestamp,
    },
  },
  Refund: {
    type: "object",
    required: ["id", "orderId", "amount", "reason", "status", "createdAt"],
    properties: {
      id: str,
      orderId: str,
      amount: int,
      reason: str,
      status: { type: "string", enum: ["succeeded", "pending", "failed"] },
      createdAt: timestamp,
    },
  },
  Return: {
    type: "object",
    required: ["id", "orderId", "items", "reason", "status", "refundAmount", "createdAt"],
    properties: {
      id: str,
      orderId: str,
      userId: str,
      items: { type: "array", items: returnLine },
      reason: str,
      status: { type: "string", enum: ["requested", "receiving", "refunded", "rejected"] },
      refundAmount: {
        ...int,
        description:
          "r − roundHalfUp(discountTotal × r / subtotal), plus its tax when prices are net; never shipping, never more than total − refundedTotal",
      },
      refundId: str,
      rejectReason: str,
      createdAt: timestamp,
      updatedAt: timestamp,
    },
  },
  WebhookEndpoint: {
    type: "object",
    description:
      "An outbound webhook endpoint. `deactivatedAt`/`deactivationReason` say when and why it was switched off (20 deliveries in a row failed).",
    required: ["id", "url", "events", "active", "createdAt"],
    properties: {
      id: str,
      url: { type: "string", format: "uri" },
      events: { type: "array", items: str, description: "Event types, e.g. `order.placed`; `*` = all" },
      active: { type: "boolean" },
      deactivatedAt: { type: ["string", "null"], format: "date-time" },
      deactivationReason: { type: ["string", "null"] },
      consecutiveFailures: int,
      createdAt: timestamp,
      updatedAt: timestamp,
    },
  },
  WebhookEndpointCreated: {
    allOf: [
      ref("WebhookEndpoint"),
      {
        type: "object",
        required: ["secret"],
        properties: {
          secret: { type: "string", description: "Signs every delivery (`Shop-Signature`); shown only here" },
        },
      },
    ],
  },
  WebhookDelivery: {
    type: "object",
    required: [
      "id",
      "eventId",
      "eventType",
      "status",
      "attempts",
      "lastStatusCode",
      "lastError",
      "createdAt",
      "deliveredAt",
    ],
    properties: {
      id: str,
      eventId: str,
      eventType: str,
      status: { type: "string", enum: ["pending", "delivered", "failed"] },
      attempts: int,
      lastStatusCode: { type: ["integer", "null"] },
      lastError: { type: ["string", "null"] },
      createdAt: timestamp,
      deliveredAt: { type: ["string", "null"], format: "date-time" },
    },
  },
  AdminStats: {
    type: "object",
    description:
      "Figures of the orders placed in [from, to) (UTC days); lowStock: active variants below LOW_STOCK_THRESHOLD",
    required: ["from", "to", "ordersByDay", "totals", "lowStock", "statusCounts"],
    properties: {
      from: timestamp,
      to: timestamp,
      ordersByDay: {
        type: "array",
        items: {
          type: "object",
          required: ["date", "orders", "revenue", "currency"],
          properties: { date: { type: "string", format: "date" }, orders: int, revenue: int, currency: str },
        },
      },
      totals: {
        type: "object",
        required: ["orders", "revenue", "customers"],
        properties: {
          orders: int,
          revenue: { type: "object", additionalProperties: int },
          customers: int,
        },
      },
      lowStock: {
        type: "array",
        items: {
          type: "object",
          required: ["variantId", "productId", "sku", "available"],
          properties: { variantId: str, productId: str, sku: str, available: int },
        },
      },
      statusCounts: { type: "object", additionalProperties: int },
    },
  },
  WebhookReceipt: {
    type: "object",
    required: ["received", "applied"],
    properties: { received: { type: "boolean", const: true }, applied: { type: "boolean" } },
  },
  ...PRICING_SCHEMAS,
};

/** Every route of API_ALIASES: what it answers. */
export const ROUTE_DOCS: Record<string, RouteDoc> = {
  "GET /.well-known/jwks.json": {
    summary: "The public keys that verify access tokens",
    status: 200,
    schema: ref("Jwks"),
  },
  "POST /user/signup": {
    summary: "Create a customer account and sign in",
    status: 201,
    schema: ref("Session"),
    errors: { 409: "Email already taken" },
  },
  "POST /user/login": {
    summary: "Sign in",
    status: 200,
    schema: ref("Session"),
    errors: { 401: "Wrong email or password" },
  },
  "POST /user/logout": { summary: "Revoke a refresh token", status: 204 },
  "POST /refresh-token": {
    summary: "Exchange a refresh token for a new pair (the old one stops working)",
    status: 200,
    schema: ref("TokenPair"),
    errors: { 401: "Refresh token invalid, expired, revoked or reused" },
  },
  "GET /user/me": { summary: "The signed-in user", status: 200, schema: ref("User") },
  "PATCH /user/me": { summary: "Update the signed-in user's profile", status: 200, schema: ref("User") },
  "GET /users": { summary: "All users (admin)", status: 200, schema: page("User") },
  "GET /products": {
    summary:
      "Search the catalogue; `option.<name>=<value>` (e.g. `option.Size=M`) keeps products with an active variant having every value asked",
    status: 200,
    schema: page("Product"),
  },
  "GET /products/facets": {
    summary:
      "Counts per category and option value, and the price range, over the active products matching the filters",
    status: 200,
    schema: ref("Facets"),
  },
  "GET /products/:id": {
    summary: "One product",
    status: 200,
    schema: ref("Product"),
    errors: { 404: "Unknown product" },
  },
  "POST /products": {
    summary: "Create a product (admin)",
    status: 201,
    schema: ref("Product"),
    errors: { 409: "SKU already taken" },
  },
  "PATCH /products/:id": {
    summary: "Update a product (admin)",
    status: 200,
    schema: ref("Product"),
    errors: { 404: "Unknown product", 409: "SKU already taken" },
  },
  "DELETE /products/:id": {
    summary: "Delete a product (admin)",
    status: 204,
    errors: { 404: "Unknown product" },
  },
  "POST /products/:id/variants": {
    summary: "Add a variant to a product with options (admin)",
    status: 201,
    schema: ref("Variant"),
    errors: { 404: "Unknown product", 409: "SKU already taken, or a product without options" },
  },
  "PATCH /products/:id/variants/:variantId": {
    summary: "Change a variant's sku, prices or active flag (admin)",
    status: 200,
    schema: ref("Variant"),
    errors: { 404: "Unknown product or variant", 409: "SKU already taken" },
  },
  "DELETE /products/:id/variants/:variantId": {
    summary: "Remove a variant (admin)",
    status: 204,
    errors: { 404: "Unknown product or variant", 409: "The product's last variant" },
  },
  "GET /inventory/:productId": {
    summary: "A product's stock level",
    status: 200,
    schema: ref("StockLevel"),
    errors: { 404: "Unknown product" },
  },
  "PUT /inventory/:productId": {
    summary: "Set a product's available stock (admin)",
    status: 200,
    schema: ref("StockLevel"),
    errors: { 404: "Unknown product" },
  },
  "GET /cart": { summary: "The signed-in user's cart", status: 200, schema: ref("Cart") },
  "POST /cart/items": {
    summary: "Add a product to the cart (adds to an existing line)",
    status: 200,
    schema: ref("Cart"),
    errors: { 404: "Unknown product" },
  },
  "PATCH /cart/items/:productId": {
    summary: "Set a line's quantity (0 removes it)",
    status: 200,
    schema: ref("Cart"),
    errors: { 404: "Not in the cart" },
  },
  "DELETE /cart/items/:productId": {
    summary: "Remove a line",
    status: 200,
    schema: ref("Cart"),
    errors: { 404: "Not in the cart" },
  },
  "DELETE /cart": { summary: "Empty the cart", status: 204 },
  "POST /orders": {
    summary:
      "Place an order (from the given items, or else from the cart); 202 with status requires_action and payment.clientSecret when the card needs 3-D Secure, or with status on_hold when its risk reaches RISK_HOLD_LEVEL",
    status: 201,
    schema: ref("Order"),
    errors: {
      402: "Payment declined; data.order has status payment_failed",
      409: "Insufficient stock, the promotion used up (PROMOTION_EXHAUSTED), or a concurrent request with the same Idempotency-Key",
      422: "Invalid input, an unknown product, no items and an empty cart, or an Idempotency-Key reused with another body",
    },
    headers: [
      {
        name: "Idempotency-Key",
        description: "Replays the first response for the same user and body",
        schema: { type: "string", minLength: 1, maxLength: 255 },
      },
    ],
  },
  "GET /orders": {
    summary: "Own orders (admin: all, filtered by userId)",
    status: 200,
    schema: page("Order"),
  },
  "GET /orders/:id": {
    summary: "One order",
    status: 200,
    schema: ref("Order"),
    errors: { 404: "Unknown order (also another user's)" },
  },
  "POST /orders/:id/cancel": {
    summary: "Cancel an order: refund and return its stock",
    status: 200,
    schema: ref("Order"),
    errors: { 404: "Unknown order", 409: "Already shipped or cancelled" },
  },
  "PATCH /orders/:id/status": {
    summary: "Move an order to shipped or delivered (admin)",
    status: 200,
    schema: ref("Order"),
    errors: { 404: "Unknown order", 409: "Transition not allowed" },
  },
  "POST /payments/webhook": {
    summary: "Payment provider webhook (signed)",
    status: 200,
    schema: ref("WebhookReceipt"),
    errors: { 400: "Missing or wrong signature, or its t more than 300 s away", 404: "Unknown charge" },
    headers: [
      {
        name: "Payment-Signature",
        description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
        required: true,
        schema: { type: "string" },
      },
    ],
  },
  "POST /payments/stripe/webhook": {
    summary:
      "Stripe's webhook (PAYMENT_PROVIDER=stripe): payment_intent.succeeded / payment_failed settle an order in requires_action once",
    status: 200,
    schema: ref("WebhookReceipt"),
    errors: {
      400: "Missing or wrong Stripe-Signature, or its t more than 300 s away",
      404: "Unknown PaymentIntent, or the provider is not stripe",
    },
    headers: [
      {
        name: "Stripe-Signature",
        description:
          'As Stripe signs: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> with STRIPE_WEBHOOK_SECRET',
        required: true,
        schema: { type: "string" },
      },
    ],
  },
  "POST /orders/:id/refunds": {
    summary: "Refund part of a paid order (admin); the sum never exceeds the total",
    status: 201,
    schema: ref("Refund"),
    errors: {
      404: "Unknown order",
      409: "Order not paid (pending, requires_action, payment_failed or cancelled)",
      422: "amount < 1 or more than total − refundedTotal",
    },
  },
  "POST /orders/:id/returns": {
    summary: "Request a return of some lines of a shipped or delivered order (its owner)",
    status: 201,
    schema: ref("Return"),
    errors: {
      404: "Unknown order (also another user's)",
      409: "Order not shipped or delivered",
      422: "A variant not in the order, or more than ordered minus already returned",
    },
  },
  "GET /returns": { summary: "Own returns (admin: all), ?status", status: 200, schema: page("Return") },
  "POST /returns/:id/receive": {
    summary: "Receive a return (admin): stock back (restock, default true), refundAmount refunded",
    status: 200,
    schema: ref("Return"),
    errors: { 404: "Unknown return", 409: "Not requested" },
  },
  "POST /returns/:id/reject": {
    summary: "Reject a return (admin): its quantities may be returned again",
    status: 200,
    schema: ref("Return"),
    errors: { 404: "Unknown return", 409: "Not requested" },
  },
  "GET /notifications": { summary: "Own notification deliveries", status: 200, schema: page("Delivery") },
  ...PRICING_ROUTE_DOCS,
  "POST /orders/:id/review": {
    summary:
      "Review an order on hold (admin): approve charges and confirms it, reject cancels it and releases its stock",
    status: 200,
    schema: ref("Order"),
    errors: { 404: "Unknown order", 409: "The order is not on hold (ORDER_NOT_ON_HOLD)" },
  },
  "GET /products/:id/recommendations": {
    summary:
      "Up to 12 active, in-stock products bought together with this one (item-to-item co-purchases), else popular in its category; never the product itself",
    status: 200,
    schema: ref("Recommendations"),
    errors: { 404: "Unknown product" },
  },
  "GET /user/recommendations": {
    summary: "Up to 12 products for the signed-in customer from what they bought, none they bought already",
    status: 200,
    schema: ref("Recommendations"),
  },
  "GET /webhooks": {
    summary: "Outbound webhook endpoints (admin)",
    status: 200,
    schema: page("WebhookEndpoint"),
  },
  "POST /webhooks": {
    summary:
      "Register a webhook endpoint (admin): https:// only, a host resolving to public addresses only; the secret is shown once",
    status: 201,
    schema: ref("WebhookEndpointCreated"),
  },
  "PATCH /webhooks/:id": {
    summary: "Change a webhook endpoint (admin); `active: true` switches a deactivated one on again",
    status: 200,
    schema: ref("WebhookEndpoint"),
    errors: { 404: "No such endpoint" },
  },
  "DELETE /webhooks/:id": {
    summary: "Remove a webhook endpoint and its delivery log (admin)",
    status: 204,
    errors: { 404: "No such endpoint" },
  },
  "GET /webhooks/:id/deliveries": {
    summary: "An endpoint's delivery log, newest first (admin)",
    status: 200,
    schema: page("WebhookDelivery"),
    errors: { 404: "No such endpoint" },
  },
  "GET /admin/stats": {
    summary: "Dashboard figures over ?from&to (ISO dates; default the last 30 days) (admin)",
    status: 200,
    schema: ref("AdminStats"),
    errors: {
      422: "from or to is not an ISO-8601 date, from is not before to, or the window is over 366 days",
    },
  },
};

// ---- Guest carts, guest checkout, addresses, personal data ----

const addressFields = {
  id: str,
  name: str,
  line1: str,
  line2: str,
  city: str,
  postalCode: str,
  country: str,
  phone: str,
  isDefault: { type: "boolean" },
};
Object.assign(OPENAPI_SCHEMAS, {
  Address: {
    type: "object",
    required: ["id", "name", "line1", "city", "postalCode", "country", "isDefault"],
    properties: addressFields,
  },
  GuestCart: {
    type: "object",
    required: ["cartToken", "cart"],
    properties: {
      cartToken: { type: "string", description: "Send it as X-Cart-Token; shown only here" },
      cart: ref("Cart"),
    },
  },
  PersonalData: {
    type: "object",
    required: ["user", "addresses", "orders", "notifications"],
    properties: {
      user: ref("User"),
      addresses: { type: "array", items: ref("Address") },
      orders: { type: "array", items: ref("Order") },
      notifications: { type: "array", items: ref("Delivery") },
    },
  },
});

// The guest headers stand in for the bearer; the cart token is documented as a header (a made-up
// one is a 401, like a missing bearer). X-Order-Token is named in the summaries only: a wrong one
// is a 404 (API.md), which a fuzzer would take for an ignored missing credential.
const cartTokenHeader = {
  name: "X-Cart-Token",
  description:
    "A guest cart's token from POST /api/carts (`gc_` and 43 base64url characters), in place of a bearer token; the bearer wins. Unknown, expired, merged or malformed: 401",
  schema: { type: "string" },
};
for (const route of [
  "GET /cart",
  "POST /cart/items",
  "PATCH /cart/items/:productId",
  "DELETE /cart/items/:productId",
  "DELETE /cart",
  "POST /orders",
])
  ROUTE_DOCS[route].headers = [...(ROUTE_DOCS[route].headers ?? []), cartTokenHeader];
for (const route of ["GET /orders/:id", "POST /orders/:id/cancel"])
  ROUTE_DOCS[route].summary +=
    "; a guest sends its order's `X-Order-Token` header instead of a bearer (wrong: 404)";

Object.assign(ROUTE_DOCS, {
  "POST /carts": {
    summary: "Start a guest cart: its token (X-Cart-Token) is shown only here",
    status: 201,
    schema: ref("GuestCart"),
  },
  "GET /user/addresses": {
    summary: "The signed-in user's address book",
    status: 200,
    schema: {
      type: "object",
      required: ["rows"],
      properties: { rows: { type: "array", items: ref("Address") } },
    },
  },
  "POST /user/addresses": {
    summary: "Add an address (the first one is the default)",
    status: 201,
    schema: ref("Address"),
    errors: { 409: "The address book holds 20 addresses already" },
  },
  "PATCH /user/addresses/:id": {
    summary: "Change an address (isDefault: true makes it the default)",
    status: 200,
    schema: ref("Address"),
    errors: { 404: "Unknown address (also another user's)" },
  },
  "DELETE /user/addresses/:id": {
    summary: "Remove an address (the oldest other one becomes the default)",
    status: 204,
    errors: { 404: "Unknown address (also another user's)" },
  },
  "GET /user/me/export": {
    summary: "Everything stored about the signed-in user",
    status: 200,
    schema: ref("PersonalData"),
  },
  "DELETE /user/me": {
    summary:
      "Erase the account: tokens revoked, addresses gone, name/email/phone removed from it and its orders",
    status: 204,
    errors: { 401: "Wrong password" },
  },
} satisfies Record<string, RouteDoc>);
