/**
 * Pricing rules with no broker (API.md "Regions, tax, shipping and promotions"): the one rounding
 * rule, a cart's or an order's totals, whether a promotion applies, prices in a region's currency.
 * A client, the admin app and the services compute the same cents from these.
 *
 * What must stay true: every amount is an integer of minor units; `roundHalfUp` is exact for any
 * safe integers (BigInt inside, so `a × b` never loses a digit); the default region (null) has no
 * tax and no shipping, so an order without regions totals exactly its subtotal, as before.
 */
import type {
  CustomerKey,
  PricingTotals,
  Promotion,
  PromotionProblem,
  Region,
  ShippingOption,
} from "../contracts";
import { MoneyError } from "./money";
import { invalidField, type RuleError } from "./rule-error";

/** `roundHalfUp(a × b / c)` = `floor((2·a·b + c) / (2·c))`, for non-negative a, b and positive c. */
export function roundHalfUp(a: number, b: number, c: number): number {
  if (![a, b, c].every(Number.isSafeInteger) || a < 0 || b < 0 || c <= 0)
    throw new MoneyError(`roundHalfUp(${a} × ${b} / ${c}) needs integers a, b >= 0 and c > 0`);
  const [A, B, C] = [BigInt(a), BigInt(b), BigInt(c)];
  return Number((2n * A * B + C) / (2n * C));
}

export const MAX_TAX_RATE = 10_000;

export interface TotalsInput {
  subtotal: number;
  /** A promotion that applies (checked by promotionProblem), or null. */
  promotion: Pick<Promotion, "type" | "value"> | null;
  shipping: Pick<ShippingOption, "amount" | "freeAbove"> | null;
  taxRate: number;
  taxInclusive: boolean;
}

export type Totals = Pick<
  PricingTotals,
  "discountTotal" | "shippingTotal" | "taxRate" | "taxInclusive" | "taxTotal" | "total"
> & { subtotal: number };

/** API.md: discount, then shipping (free above a threshold or by the code), then tax on the rest. */
export function computeTotals(t: TotalsInput): Totals {
  const { subtotal, promotion, shipping, taxRate, taxInclusive } = t;
  let discountTotal = 0;
  if (promotion?.type === "percentage") discountTotal = roundHalfUp(subtotal, promotion.value, 100);
  else if (promotion?.type === "fixed") discountTotal = Math.min(promotion.value, subtotal);
  const afterDiscount = subtotal - discountTotal;
  const freeShipping =
    promotion?.type === "free_shipping" ||
    !shipping ||
    (shipping.freeAbove != null && afterDiscount >= shipping.freeAbove);
  const shippingTotal = freeShipping ? 0 : shipping.amount;
  const taxable = afterDiscount + shippingTotal;
  if (taxInclusive) {
    const net = roundHalfUp(taxable, MAX_TAX_RATE, MAX_TAX_RATE + taxRate);
    return {
      subtotal,
      discountTotal,
      shippingTotal,
      taxRate,
      taxInclusive,
      taxTotal: taxable - net,
      total: taxable,
    };
  }
  const taxTotal = roundHalfUp(taxable, taxRate, MAX_TAX_RATE);
  return {
    subtotal,
    discountTotal,
    shippingTotal,
    taxRate,
    taxInclusive,
    taxTotal,
    total: taxable + taxTotal,
  };
}

/** The totals in the default region or a region, with the option chosen (if any) and a code that applies. */
export function totalsIn(
  region: Pick<Region, "taxRate" | "taxInclusive"> | null,
  subtotal: number,
  shipping: Pick<ShippingOption, "amount" | "freeAbove"> | null,
  promotion: Pick<Promotion, "type" | "value"> | null,
): Totals {
  return computeTotals({
    subtotal,
    promotion,
    shipping: region ? shipping : null,
    taxRate: region?.taxRate ?? 0,
    taxInclusive: region?.taxInclusive ?? false,
  });
}

/** The canonical form of a code: codes are unique case-insensitively. */
export function codeKey(code: string): string {
  return code.trim().toUpperCase();
}

/**
 * Why `promo` does not apply to a cart of `subtotal` in `currency` at `nowMs`, or null when it
 * does. `exhausted` is checked too unless `countExhausted` is false (the checkout counts the use
 * atomically instead, and refuses past the limit with 409).
 */
export function promotionProblem(
  promo: Promotion | null,
  cart: { subtotal: number; currency: string; nowMs: number },
  countExhausted = true,
): PromotionProblem | null {
  if (!promo) return "PROMOTION_UNKNOWN";
  if (!promo.active) return "PROMOTION_INACTIVE";
  if (promo.startsAt && Date.parse(promo.startsAt) > cart.nowMs) return "PROMOTION_NOT_STARTED";
  if (promo.endsAt && Date.parse(promo.endsAt) <= cart.nowMs) return "PROMOTION_EXPIRED";
  if (promo.type === "fixed" && promo.currency !== cart.currency) return "PROMOTION_CURRENCY";
  if (promo.minSubtotal != null && cart.subtotal < promo.minSubtotal) return "PROMOTION_MIN_SUBTOTAL";
  if (countExhausted && promo.usageLimit != null && promo.usageCount >= promo.usageLimit)
    return "PROMOTION_EXHAUSTED";
  return null;
}

const PROBLEM_TEXT: Record<PromotionProblem, string> = {
  PROMOTION_UNKNOWN: "No promotion has this code",
  PROMOTION_INACTIVE: "This promotion is not active",
  PROMOTION_EXPIRED: "This promotion has ended",
  PROMOTION_NOT_STARTED: "This promotion has not started yet",
  PROMOTION_MIN_SUBTOTAL: "The subtotal is below this promotion's minimum",
  PROMOTION_CURRENCY: "This promotion is in another currency",
  PROMOTION_EXHAUSTED: "This promotion has been used up",
};

/** The 422 naming `field` (`code` on the cart, `promotionCode` at checkout). */
export function promotionRefused(field: string, problem: PromotionProblem): RuleError {
  return invalidField(field, problem, PROBLEM_TEXT[problem]);
}

/** A variant's price in `currency`: its own `price` in the product's currency, else `prices[currency]`. */
export function priceIn(
  variant: { price: number; currency: string; prices?: Record<string, number> },
  currency: string,
): number | null {
  if (variant.currency === currency) return variant.price;
  return variant.prices?.[currency] ?? null;
}

/** The variant priced in `currency` (a region's), or null when it has no price in it. */
export function inCurrency<V extends { price: number; currency: string; prices?: Record<string, number> }>(
  variant: V,
  currency: string,
): V | null {
  const price = priceIn(variant, currency);
  return price === null ? null : { ...variant, price, currency };
}

export function priceUnavailable(field: string, currency: string): RuleError {
  return invalidField(field, "PRICE_UNAVAILABLE", `This variant has no price in ${currency}`);
}

/** Per-customer limits count a signed-in buyer by user id and a guest by email. */
export function customerKeyOf(buyer: { userId?: string | null; email?: string | null }): CustomerKey {
  if (buyer.userId) return `user:${buyer.userId}`;
  return `email:${(buyer.email ?? "").trim().toLowerCase()}`;
}

/** A shipping address's country, as regions list them (ISO alpha-2, upper case). */
export function countryCode(country: string): string {
  return country.trim().toUpperCase();
}

/**
 * The shipping option an order or a cart uses in `region`: the one chosen, which must be an
 * active option of that region; none chosen is refused only `required` (a checkout in a region
 * with active options). `field` names the request field.
 */
export function chosenOption(
  region: Region | null,
  options: readonly ShippingOption[],
  chosen: ShippingOption | null,
  chosenId: string | null | undefined,
  field: string,
  required: boolean,
): ShippingOption | null {
  if (chosenId == null) {
    if (required && region && options.length)
      throw invalidField(field, "SHIPPING_OPTION_REQUIRED", "This region needs a shipping option");
    return null;
  }
  if (!chosen || !region || chosen.regionId !== region.id)
    throw invalidField(field, "SHIPPING_OPTION_REGION", "This shipping option is not one of the region's");
  if (!chosen.active)
    throw invalidField(field, "SHIPPING_OPTION_INACTIVE", "This shipping option is not active");
  return chosen;
}

/** The problems of a promotion as a whole (after a create or a patch): field and type, or null. */
export function promotionInputProblem(
  p: Pick<Promotion, "type" | "value" | "currency" | "startsAt" | "endsAt">,
): { field: string; type: string; message: string } | null {
  if (p.type === "percentage" && (p.value < 1 || p.value > 100))
    return { field: "value", type: "numberRange", message: "A percentage is 1 to 100" };
  if (p.type === "fixed" && !p.currency)
    return { field: "currency", type: "required", message: "A fixed promotion needs a currency" };
  if (p.type !== "fixed" && p.currency)
    return { field: "currency", type: "forbidden", message: "Only a fixed promotion has a currency" };
  if (p.startsAt && p.endsAt && Date.parse(p.endsAt) <= Date.parse(p.startsAt))
    return { field: "endsAt", type: "dateOrder", message: "endsAt must be after startsAt" };
  return null;
}
