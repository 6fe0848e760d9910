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
  enum: ["pending", "confirmed", "shipped", "delivered", "payment_failed", "cancelled"],
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
    required: ["items", "subtotal", "currency", "updatedAt"],
    properties: { items: { type: "array", items: line }, subtotal: int, currency: str, updatedAt: timestamp },
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
      userId: str,
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
            enum: ["pending", "processing", "succeeded", "failed", "refunded", "voided"],
          },
        },
      },
      shippingAddress: {
        type: "object",
        required: ["name", "line1", "city", "postalCode", "country"],
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
    summary: "Place an order (from the given items, or else from the cart)",
    status: 201,
    schema: ref("Order"),
    errors: {
      402: "Payment declined; data.order has status payment_failed",
      409: "Insufficient stock, or a concurrent request with the same Idempotency-Key",
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
  "GET /notifications": { summary: "Own notification deliveries", status: 200, schema: page("Delivery") },
  "GET /admin/stats": {
    summary: "Dashboard figures over ?from&to (ISO dates; default the last 30 days) (admin)",
    status: 200,
    schema: ref("AdminStats"),
    errors: {
      422: "from or to is not an ISO-8601 date, from is not before to, or the window is over 366 days",
    },
  },
};
