/** The configured payment provider: the simulated one (default) or Stripe (PAYMENT_PROVIDER=stripe). */
import type { Config } from "../config";
import { SimulatedProvider, type PaymentProvider } from "../../domain/payments";
import { StripeProvider } from "./stripe";

export { StripeProvider } from "./stripe";

export function providerFor(cfg: Config): PaymentProvider {
  const { provider, stripe } = cfg.payments;
  // loadConfig refused PAYMENT_PROVIDER=stripe without both secrets
  if (provider === "stripe")
    return new StripeProvider({
      ...stripe,
      secretKey: stripe.secretKey!,
      webhookSecret: stripe.webhookSecret!,
    });
  return new SimulatedProvider();
}
