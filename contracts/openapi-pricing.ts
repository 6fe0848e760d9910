/** OpenAPI pieces of API.md "Regions, tax, shipping and promotions" (merged into openapi-responses.ts). */
import type { JsonSchema, RouteDoc } from "./openapi-responses";

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const rows = (item: string): JsonSchema => ({
  type: "object",
  required: ["rows"],
  properties: { rows: { type: "array", items: ref(item) } },
});
const str = { type: "string" };
const int = { type: "integer" };
const timestamp = { type: "string", format: "date-time" };

/** The fields a cart and an order gain. */
export const PRICING_TOTALS_PROPS: Record<string, JsonSchema> = {
  regionId: { type: ["string", "null"] },
  promotionCode: { type: ["string", "null"] },
  discountTotal: int,
  shippingOption: {
    oneOf: [
      { type: "object", required: ["id", "name", "amount"], properties: { id: str, name: str, amount: int } },
      { type: "null" },
    ],
  },
  shippingTotal: int,
  taxRate: int,
  taxInclusive: { type: "boolean" },
  taxTotal: int,
  total: int,
};

export const PRICING_SCHEMAS: Record<string, JsonSchema> = {
  Region: {
    type: "object",
    required: ["id", "name", "currency", "countries", "taxRate", "taxInclusive"],
    properties: {
      id: str,
      name: str,
      currency: str,
      countries: { type: "array", items: str },
      taxRate: { type: "integer", minimum: 0, maximum: 10000 },
      taxInclusive: { type: "boolean" },
      createdAt: timestamp,
      updatedAt: timestamp,
    },
  },
  ShippingOption: {
    type: "object",
    required: ["id", "name", "regionId", "amount", "active"],
    properties: {
      id: str,
      name: str,
      regionId: str,
      amount: int,
      freeAbove: int,
      active: { type: "boolean" },
      createdAt: timestamp,
      updatedAt: timestamp,
    },
  },
  Promotion: {
    type: "object",
    required: ["id", "code", "type", "value", "usageCount", "active"],
    properties: {
      id: str,
      code: str,
      type: { type: "string", enum: ["percentage", "fixed", "free_shipping"] },
      value: int,
      currency: str,
      minSubtotal: int,
      startsAt: str,
      endsAt: str,
      usageLimit: int,
      perCustomerLimit: int,
      usageCount: int,
      active: { type: "boolean" },
      createdAt: timestamp,
      updatedAt: timestamp,
    },
  },
};

const crud = (path: string, schema: string, what: string, conflict?: string): Record<string, RouteDoc> => {
  const conflicts: Record<number, string> = conflict ? { 409: conflict } : {};
  return {
    [`POST /${path}`]: {
      summary: `Create a ${what} (admin)`,
      status: 201,
      schema: ref(schema),
      errors: conflicts,
    },
    [`PATCH /${path}/:id`]: {
      summary: `Change a ${what} (admin)`,
      status: 200,
      schema: ref(schema),
      errors: { 404: `Unknown ${what}`, ...conflicts },
    },
    [`DELETE /${path}/:id`]: {
      summary: `Delete a ${what} (admin)`,
      status: 204,
      errors: { 404: `Unknown ${what}` },
    },
  };
};

export const PRICING_ROUTE_DOCS: Record<string, RouteDoc> = {
  "GET /regions": { summary: "Every region", status: 200, schema: rows("Region") },
  ...crud("regions", "Region", "region", "A country is already in another region"),
  "GET /shipping-options": {
    summary: "Active shipping options (of one region with ?regionId)",
    status: 200,
    schema: rows("ShippingOption"),
  },
  ...crud("shipping-options", "ShippingOption", "shipping option"),
  "GET /promotions": {
    summary: "Promotions with their usageCount (admin)",
    status: 200,
    schema: {
      type: "object",
      required: ["rows", "total", "page", "pageSize", "totalPages"],
      properties: {
        rows: { type: "array", items: ref("Promotion") },
        total: int,
        page: int,
        pageSize: int,
        totalPages: int,
      },
    },
  },
  ...crud("promotions", "Promotion", "promotion", "The code is taken (case-insensitively)"),
  "PATCH /cart": {
    summary: "Set the cart's region (by id or countryCode; null: the default region) and shipping option",
    status: 200,
    schema: ref("Cart"),
    errors: {
      404: "Unknown region or shipping option",
      422: "The option is not one of the cart's region's, or a line has no price in its currency (PRICE_UNAVAILABLE)",
    },
  },
  "POST /cart/promotions": {
    summary: "Put a promotion code on the cart (replaces any code already on it)",
    status: 200,
    schema: ref("Cart"),
    errors: {
      422: "On `code`: PROMOTION_UNKNOWN, _INACTIVE, _EXPIRED, _NOT_STARTED, _MIN_SUBTOTAL, _CURRENCY or _EXHAUSTED",
    },
  },
  "DELETE /cart/promotions/:code": {
    summary: "Take the code off the cart",
    status: 200,
    schema: ref("Cart"),
    errors: { 404: "The cart has no such code" },
  },
};
