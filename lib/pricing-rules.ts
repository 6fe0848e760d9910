/**
 * `pricing.rules` for carts and orders. A cluster where no pricing service ever ran is a shop
 * without regions (API.md: it charges exactly as before), so a node that has never seen one
 * prices in the default region instead of failing; once it has seen one, pricing is required
 * (a pricing node that is down fails the request rather than letting an order go untaxed). A
 * request that names a region, an option or a code always asks pricing.
 *
 * With `cache` (the caller's CachedReadsMixin on PricingCacheClean), answers are kept on the
 * calling node under `pricing.**` and cleared with pricing's own on every pricing write, so a
 * checkout or a cart read needs no call to pricing at all while nothing changes.
 */
import type { Context, ServiceBroker } from "moleculer";
import type { PricingRules, PricingRulesParams } from "../contracts";
import { call } from "./typed";

export const DEFAULT_RULES: PricingRules = {
  region: null,
  regionFound: true,
  shippingOptions: [],
  shippingOption: null,
  promotion: null,
};

const sawPricing = new WeakSet<ServiceBroker>();
/** Asks in flight, by cache key: a burst of checkouts on a cold cache makes one call, not hundreds. */
const inFlight = new Map<string, Promise<PricingRules>>();

/** Runs `compute` once for all callers of `key` while it runs. */
export function once<T>(
  flights: Map<string, Promise<T>>,
  key: string,
  compute: () => Promise<T>,
): Promise<T> {
  let flight = flights.get(key);
  if (!flight) {
    flight = compute().finally(() => flights.delete(key));
    flights.set(key, flight);
  }
  return flight;
}

type Cache = <T>(key: string, compute: () => Promise<T>) => Promise<T>;

export function pricingRules(ctx: Context, params: PricingRulesParams, cache?: Cache): Promise<PricingRules> {
  const broker = ctx.broker;
  if (!sawPricing.has(broker)) {
    if ((broker.registry as unknown as { hasService(name: string): boolean }).hasService("pricing"))
      sawPricing.add(broker);
    else if (!params.regionId && !params.shippingOptionId && !params.code)
      return Promise.resolve(DEFAULT_RULES);
  }
  const key = `pricing.rules:${JSON.stringify(params)}`;
  const ask = () => once(inFlight, `${broker.nodeID}:${key}`, () => call(ctx, "pricing.rules", params));
  return cache ? cache(key, ask) : ask();
}
