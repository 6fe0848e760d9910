/**
 * POST /api/payments/webhook of the simulated provider, through the gateway: signed with a
 * timestamp (a captured call does not replay), with a secret generated into DATA_DIR unless
 * PAYMENT_WEBHOOK_SECRET is set.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { signWebhook } from "../../domain/payments";
import { WEBHOOK_SECRET_FILE } from "../../lib/generated-secret";
import { jsonClient } from "../support/http";
import { bootNode } from "../support/node";

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("the payment webhook with the secret generated into DATA_DIR", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "webhook-int-"));
  let broker: ServiceBroker;
  let base: string;
  let orders = 0;
  const http = jsonClient(() => base);
  const boot = async () => {
    ({ broker, base } = await bootNode({
      SERVICES: "api,tokens,payments",
      DATA_DIR: dataDir,
      PAYMENT_WEBHOOK_SECRET: undefined,
    }));
  };
  const secret = () => fs.readFileSync(path.join(dataDir, WEBHOOK_SECRET_FILE), "utf8").trim();
  const post = (raw: string, signature: string) =>
    http("POST", "/api/payments/webhook", raw, undefined, { "payment-signature": signature });
  /** A captured payment and the body of the provider's refund notice for it. */
  const charged = async () => {
    const orderId = `ord_webhook_${++orders}`;
    const pay: any = await broker.call("payments.charge", {
      orderId,
      userId: "usr_1",
      amount: 1200,
      currency: "USD",
      token: "tok_visa",
    });
    expect(pay.status).toBe("succeeded");
    const raw = JSON.stringify({
      id: `evt_${orderId}`,
      type: "charge.refunded",
      data: { chargeId: pay.chargeId },
    });
    return { orderId, raw };
  };
  const statusOf = async (orderId: string) =>
    ((await broker.call("payments.get", { orderId })) as any).status;

  beforeAll(boot, 60_000);
  afterAll(() => broker?.stop());

  it("should apply a freshly signed webhook with 200", async () => {
    const { orderId, raw } = await charged();
    const res = await post(raw, signWebhook(secret(), raw));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true, applied: true });
    expect(await statusOf(orderId)).toBe("refunded");
  });

  it("should refuse a replay signed 301 s ago with 400 and leave the payment unchanged", async () => {
    const { orderId, raw } = await charged();
    const res = await post(raw, signWebhook(secret(), raw, nowSeconds() - 301));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 400, type: "INVALID_SIGNATURE" });
    expect(await statusOf(orderId)).toBe("succeeded");
  });

  it("should refuse a wrong v1 with 400 and leave the payment unchanged", async () => {
    const { orderId, raw } = await charged();
    const wrong = signWebhook(secret(), raw).replace(/v1=(.)/, (_m, c) => `v1=${c === "0" ? "1" : "0"}`);
    expect((await post(raw, wrong)).status).toBe(400);
    expect(await statusOf(orderId)).toBe("succeeded");
  });

  it("should refuse a webhook signed with the former public development secret", async () => {
    const { orderId, raw } = await charged();
    expect((await post(raw, signWebhook("dev-payment-webhook-secret", raw))).status).toBe(400);
    expect(await statusOf(orderId)).toBe("succeeded");
  });

  it("should keep the generated secret across a restart", async () => {
    const before = secret();
    await broker.stop();
    await boot();
    expect(secret()).toBe(before);
    const { orderId, raw } = await charged();
    expect((await post(raw, signWebhook(before, raw))).status).toBe(200);
    expect(await statusOf(orderId)).toBe("refunded");
  }, 60_000);
});
