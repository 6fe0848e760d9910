/**
 * An order's pricing at checkout (API.md "Regions, tax, shipping and promotions"): the region
 * from the cart or the request, else the one holding `shippingAddress.country`, else the default
 * region; lines priced in the region's currency; the shipping option checked against the region;
 * the promotion checked (its use is counted later, atomically, by the saga's promotion step).
 * Without regions this gives every order exactly its subtotal, as before.
 */
import type { Context } from "moleculer";
import type { CartChoices, OrderLine } from "../contracts";
import type { ResolvedLine } from "../domain/checkout";
import { priceLines, type OrderPricing } from "../domain/checkout";
import {
  chosenOption,
  countryCode,
  customerKeyOf,
  inCurrency,
  priceUnavailable,
  promotionProblem,
  promotionRefused,
  totalsIn,
} from "../domain/pricing";
import { invalidField } from "../domain/rule-error";
import { pricingRules } from "./pricing-rules";

export interface PricedOrder {
  priced: { items: OrderLine[]; subtotal: number; currency: string };
  pricing: OrderPricing;
  total: number;
}

export async function priceOrder(
  ctx: Context,
  lines: readonly ResolvedLine[],
  o: {
    field: "items" | "cart";
    choices: CartChoices;
    country: string;
    buyer: { userId?: string | null; email?: string | null };
    /** The caller's cache of pricing's answers (cleared by PricingCacheClean). */
    cache?: Parameters<typeof pricingRules>[2];
  },
): Promise<PricedOrder> {
  const { regionId, shippingOptionId, promotionCode } = o.choices;
  const rules = await pricingRules(
    ctx,
    {
      ...(regionId ? { regionId } : { country: countryCode(o.country) }),
      ...(shippingOptionId ? { shippingOptionId } : {}),
      ...(promotionCode ? { code: promotionCode } : {}),
    },
    o.cache,
  );
  if (!rules.regionFound) throw invalidField("regionId", "notFound", `Region ${regionId} does not exist`);
  const { region } = rules;
  if (region && !region.countries.includes(countryCode(o.country)))
    throw invalidField(
      "shippingAddress.country",
      "REGION_COUNTRY",
      `Region ${region.name} does not ship to ${o.country}`,
    );
  const inRegion = region
    ? lines.map((l, i) => {
        const variant = inCurrency(l.variant, region.currency);
        if (!variant) throw priceUnavailable(`${o.field}[${i}].variantId`, region.currency);
        return { variant, quantity: l.quantity };
      })
    : lines;
  const priced = priceLines(inRegion, o.field);
  const option = chosenOption(
    region,
    rules.shippingOptions,
    rules.shippingOption,
    shippingOptionId,
    "shippingOptionId",
    true,
  );
  const promotion = promotionCode ? rules.promotion : null;
  if (promotionCode) {
    const problem = promotionProblem(
      rules.promotion,
      { subtotal: priced.subtotal, currency: priced.currency, nowMs: Date.now() },
      false,
    );
    if (problem) throw promotionRefused("promotionCode", problem);
  }
  const totals = totalsIn(region, priced.subtotal, option, promotion);
  return {
    priced,
    total: totals.total,
    pricing: {
      regionId: region?.id ?? null,
      promotionCode: promotion?.code ?? null,
      discountTotal: totals.discountTotal,
      shippingOption: option && { id: option.id, name: option.name, amount: option.amount },
      shippingTotal: totals.shippingTotal,
      taxRate: totals.taxRate,
      taxInclusive: totals.taxInclusive,
      taxTotal: totals.taxTotal,
      ...(promotion ? { promotionId: promotion.id, customerKey: customerKeyOf(o.buyer) } : {}),
    },
  };
}
