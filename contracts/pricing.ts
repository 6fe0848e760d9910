/**
 * Regions, shipping options and promotions (API.md "Regions, tax, shipping and promotions"), and
 * the totals a cart or an order carries. Types and constants only.
 */
import type { Page } from "./index";

/** `taxRate` in basis points (2000 = 20 %); `countries` ISO 3166-1 alpha-2, each in one region at most. */
export interface Region {
  id: string;
  name: string;
  currency: string;
  countries: string[];
  taxRate: number;
  taxInclusive: boolean;
  createdAt: string;
  updatedAt: string;
}

/** `amount` in the region's currency; free when `subtotal - discountTotal >= freeAbove`. */
export interface ShippingOption {
  id: string;
  name: string;
  regionId: string;
  amount: number;
  freeAbove?: number;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export type PromotionType = "percentage" | "fixed" | "free_shipping";

export interface Promotion {
  id: string;
  code: string;
  type: PromotionType;
  value: number;
  currency?: string;
  minSubtotal?: number;
  startsAt?: string;
  endsAt?: string;
  usageLimit?: number;
  perCustomerLimit?: number;
  usageCount: number;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Why a code does not apply (the 422's `data[0].type`; PROMOTION_EXHAUSTED is a 409 at checkout). */
export type PromotionProblem =
  | "PROMOTION_UNKNOWN"
  | "PROMOTION_INACTIVE"
  | "PROMOTION_EXPIRED"
  | "PROMOTION_NOT_STARTED"
  | "PROMOTION_MIN_SUBTOTAL"
  | "PROMOTION_CURRENCY"
  | "PROMOTION_EXHAUSTED";

/** The totals of a cart or an order beside `subtotal` (API.md `cart` gains ...). */
export interface PricingTotals {
  regionId: string | null;
  promotionCode: string | null;
  discountTotal: number;
  shippingOption: { id: string; name: string; amount: number } | null;
  shippingTotal: number;
  taxRate: number;
  taxInclusive: boolean;
  taxTotal: number;
  total: number;
}

/** What carts and orders ask pricing for, in one read (cached, cleared on every pricing write). */
export interface PricingRulesParams {
  /** A region by id (null: the default region); without it, the region holding `country`. */
  regionId?: string | null;
  country?: string;
  shippingOptionId?: string;
  code?: string;
}

export interface PricingRules {
  /** null: the default region (no tax, no shipping, the products' currency). */
  region: Region | null;
  /** false when `regionId` named no region. */
  regionFound: boolean;
  /** The region's active options. */
  shippingOptions: ShippingOption[];
  /** The option `shippingOptionId` names, in whichever region, active or not; null: none such. */
  shippingOption: ShippingOption | null;
  /** The promotion `code` names (case-insensitively); null: none such. */
  promotion: Promotion | null;
}

/** Who a promotion's per-customer limit counts: `user:<id>`, or `email:<address>` for a guest. */
export type CustomerKey = string;

/**
 * Moleculer broadcast (fire-and-forget, cache invalidation only): a region, option or promotion
 * changed, or a promotion reached its usage limit or left it, so every node clears `pricing.**`.
 */
export const PricingCacheClean = "cache.clean.pricing" as const;

export interface RegionInput {
  name: string;
  currency: string;
  countries: string[];
  taxRate: number;
  taxInclusive?: boolean;
}

export interface ShippingOptionInput {
  name: string;
  regionId: string;
  amount: number;
  freeAbove?: number | null;
  active?: boolean;
}

export interface PromotionInput {
  code: string;
  type: PromotionType;
  value: number;
  currency?: string | null;
  minSubtotal?: number | null;
  startsAt?: string | null;
  endsAt?: string | null;
  usageLimit?: number | null;
  perCustomerLimit?: number | null;
  active?: boolean;
}

type Patch<T> = Partial<T> & { id: string };

export interface PricingActions {
  "pricing.listRegions": { params: Record<string, never>; result: { rows: Region[] } };
  "pricing.createRegion": { params: RegionInput; result: Region };
  "pricing.updateRegion": { params: Patch<RegionInput>; result: Region };
  "pricing.removeRegion": { params: { id: string }; result: null };
  "pricing.listShippingOptions": { params: { regionId?: string }; result: { rows: ShippingOption[] } };
  "pricing.createShippingOption": { params: ShippingOptionInput; result: ShippingOption };
  "pricing.updateShippingOption": { params: Patch<ShippingOptionInput>; result: ShippingOption };
  "pricing.removeShippingOption": { params: { id: string }; result: null };
  "pricing.listPromotions": {
    params: { page?: number; pageSize?: number };
    result: Page<Promotion>;
  };
  "pricing.createPromotion": { params: PromotionInput; result: Promotion };
  "pricing.updatePromotion": { params: Patch<PromotionInput>; result: Promotion };
  "pricing.removePromotion": { params: { id: string }; result: null };
  /** Internal: the region, options and promotion a cart or an order is priced with. */
  "pricing.rules": { params: PricingRulesParams; result: PricingRules };
  /**
   * Internal, idempotent by orderId: counts one use of the promotion for the order, atomically
   * against `usageLimit` and the customer's `perCustomerLimit`. `counted: false`: exhausted.
   */
  "pricing.redeem": {
    params: { promotionId: string; orderId: string; customerKey: CustomerKey };
    result: { counted: boolean };
  };
  /** Internal, idempotent by orderId: gives a counted use back (a failed or cancelled order). */
  "pricing.release": { params: { orderId: string }; result: { released: boolean } };
}

/** What a cart holds besides its lines, for the checkout (absent on a cart stored before regions). */
export interface CartChoices {
  regionId?: string | null;
  shippingOptionId?: string | null;
  promotionCode?: string | null;
}
