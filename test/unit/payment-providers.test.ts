import { ConfigError, loadConfig } from "../../lib/config";
import { chargeKey, fromStripeStatus, isCardToken, stripeEventEffect } from "../../domain/payments";
import { intentResult } from "../../lib/payment-providers/stripe";
import { providerFor } from "../../lib/payment-providers";

describe("Stripe PaymentIntent statuses as the shop's", () => {
  it.each([
    ["succeeded", "succeeded"],
    ["requires_action", "requires_action"],
    ["requires_payment_method", "requires_action"],
    ["requires_confirmation", "requires_action"],
    ["processing", "processing"],
    ["requires_capture", "processing"],
    ["canceled", "failed"],
    ["a_status_of_a_newer_api", "failed"],
  ])("should map %s to %s", (stripe, ours) => {
    expect(fromStripeStatus(stripe)).toBe(ours);
  });

  it("should give the client secret with requires_action, and wait on the webhook for processing too", () => {
    const pi = (status: string) =>
      ({ id: "pi_1", status, client_secret: "pi_1_secret_x", last_payment_error: null }) as any;
    expect(intentResult(pi("requires_action"))).toEqual({
      status: "requires_action",
      chargeId: "pi_1",
      clientSecret: "pi_1_secret_x",
    });
    expect(intentResult(pi("processing")).status).toBe("requires_action");
    expect(intentResult(pi("succeeded"))).toEqual({ status: "succeeded", chargeId: "pi_1" });
    expect(intentResult(pi("canceled"))).toEqual({ status: "failed", chargeId: "pi_1", reason: "canceled" });
  });

  it.each([
    ["payment_intent.succeeded", "succeeded"],
    ["payment_intent.payment_failed", "failed"],
    ["payment_intent.canceled", "failed"],
    ["payment_intent.requires_action", null],
    ["charge.succeeded", null],
  ])("should let the webhook event %s settle a payment as %s", (type, to) => {
    expect(stripeEventEffect(type)).toBe(to);
  });
});

describe("card tokens and idempotency keys", () => {
  it.each([
    ["simulated", "tok_visa", true],
    ["simulated", "tok_chargeDeclined", true],
    ["simulated", "pm_card_visa", false],
    ["stripe", "pm_card_visa", true],
    ["stripe", "tok_visa", false],
    ["stripe", "pm_", false],
    ["stripe", "pm_a;b", false],
  ] as const)("should take, with provider %s, the token %s: %s", (provider, token, ok) => {
    expect(isCardToken(provider, token)).toBe(ok);
  });

  it("should key each capture by order and attempt", () => {
    expect(chargeKey("ord_1", 1)).toBe("order:ord_1:attempt:1");
    expect(chargeKey("ord_1", 2)).not.toBe(chargeKey("ord_1", 1));
  });
});

describe("choosing the payment provider at start", () => {
  it("should default to the simulated provider", () => {
    expect(providerFor(loadConfig({})).name).toBe("simulated");
  });

  it("should use Stripe with its secrets", () => {
    const cfg = loadConfig({
      PAYMENT_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: "sk_test_x",
      STRIPE_WEBHOOK_SECRET: "whsec_x",
      STRIPE_API_BASE: "http://127.0.0.1:12111",
    });
    expect(providerFor(cfg).name).toBe("stripe");
  });

  it.each([
    [{ PAYMENT_PROVIDER: "paypal" }, "PAYMENT_PROVIDER"],
    [{ PAYMENT_PROVIDER: "stripe", STRIPE_WEBHOOK_SECRET: "whsec_x" }, "STRIPE_SECRET_KEY"],
    [{ PAYMENT_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_x" }, "STRIPE_WEBHOOK_SECRET"],
    [{ STRIPE_API_BASE: "ftp://x" }, "STRIPE_API_BASE"],
  ])("should stop the start on %j naming %s", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`\\b${name}\\b`));
  });
});
