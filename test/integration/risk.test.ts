/**
 * Order risk over HTTP with every service in one broker on NeDB and RISK_HOLD_LEVEL=high: every
 * order scored before its charge, the risk shown to admins only, a held order (202, on_hold:
 * stock held, nothing charged) approved, rejected, cancelled by its customer or expired, and the
 * saga's compensation when an approved order's charge fails.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { bootNode } from "../support/node";
import { ADDRESS, DECLINED, VISA } from "../support/fixtures";
import { jsonClient } from "../support/http";
import { waitFor } from "../support/cluster";
import { addressFingerprint } from "../../domain/risk-features";

const ADMIN = { email: "risk-admin@shop.test", password: "risk-admin-password" };

describe("order risk: scoring before the charge, holding and review", () => {
  let broker: ServiceBroker;
  let base: string;
  let adminToken: string;
  const events: EventEnvelope[] = [];
  let seq = 0;
  const http = jsonClient(() => base);
  const orders = () => broker.getLocalService("orders") as any;

  const signup = async () => {
    const res = await http("POST", "/api/user/signup", {
      email: `risk${++seq}-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "Buyer",
    });
    expect(res.status).toBe(201);
    return { token: res.body.accessToken as string, id: res.body.user.id as string };
  };
  const product = async (stock = 10) =>
    (await broker.call(
      "products.create",
      { name: `Risky ${++seq}`, price: 2500, stock },
      { meta: { user: { id: "admin", role: "admin" } } },
    )) as any;
  const level = (productId: string) => broker.call("inventory.get", { productId }) as Promise<any>;
  const body = (productId: string, pay = VISA) => ({
    items: [{ productId, quantity: 2 }],
    payment: pay,
    shippingAddress: ADDRESS,
  });
  const place = (token: string, productId: string, pay = VISA) =>
    http("POST", "/api/orders", body(productId, pay), token);
  /** The order's published events of a type, once the outbox has sent at least one. */
  const published = (type: string, orderId: string) =>
    waitFor(`${type} of ${orderId}`, async () => {
      const found = events.filter((e) => e.type === type && e.key === orderId);
      return found.length ? found : undefined;
    });
  const review = (id: string, decision: string, token = adminToken) =>
    http("POST", `/api/orders/${id}/review`, { decision }, token);

  /** Declined payments of the last hour, as the orders collection holds them after real declines. */
  const declinedBefore = async (fields: Record<string, unknown>, n = 5) => {
    for (let i = 0; i < n; i++) {
      const at = new Date().toISOString();
      await orders().adapter.insert({
        _id: `declined-${++seq}`,
        kind: "order",
        status: "payment_failed",
        reason: "card_declined",
        hidden: false,
        total: 2500,
        currency: "USD",
        shippingAddress: ADDRESS,
        createdAt: at,
        updatedAt: at,
        step: "done",
        ...fields,
      });
    }
  };
  /** A customer whose next order is held: 5 declines in the last hour (the card-testing rule). */
  const heldOrder = async (pay = VISA) => {
    const buyer = await signup();
    const p = await product();
    await declinedBefore({ userId: buyer.id });
    const res = await place(buyer.token, p.id, pay);
    expect(res.status).toBe(202);
    return { buyer, p, order: res.body };
  };

  beforeAll(async () => {
    ({ broker, base } = await bootNode({
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "risk-int-")),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      RISK_HOLD_LEVEL: "high",
      TRANSPORTER: undefined,
      MONGO_URI: undefined,
    }));
    const send = (broker as any).sendToChannel.bind(broker);
    (broker as any).sendToChannel = (channel: string, payload: any, opts: unknown) => {
      events.push(payload);
      return send(channel, payload, opts);
    };
    const login = await http("POST", "/api/user/login", ADMIN);
    expect(login.status).toBe(200);
    adminToken = login.body.accessToken;
  }, 120_000);

  afterAll(() => broker?.stop());

  it("should score every order, show the risk to admins and never to its customer", async () => {
    const buyer = await signup();
    const p = await product();
    const res = await place(buyer.token, p.id);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe("confirmed");
    expect(res.body).not.toHaveProperty("risk");
    const own = await http("GET", `/api/orders/${res.body.id}`, undefined, buyer.token);
    expect(own.body).not.toHaveProperty("risk");
    const list = await http("GET", "/api/orders", undefined, buyer.token);
    expect(list.body.rows.every((o: any) => !("risk" in o))).toBe(true);
    expect(JSON.stringify(list.body)).not.toMatch(/"score"|"reasons"/);
    const seen = await http("GET", `/api/orders/${res.body.id}`, undefined, adminToken);
    expect(seen.body.risk).toEqual({
      score: expect.any(Number),
      level: "low",
      reasons: [],
    });
    const all = await http("GET", `/api/orders?userId=${buyer.id}`, undefined, adminToken);
    expect(all.body.rows[0].risk.level).toBe("low");
  });

  it("should take the account's signup time from its access token, asking users only for a token without it", async () => {
    const buyer = await signup();
    const p = await product();
    const asked: string[] = [];
    const call: (name: string, params?: any, opts?: any) => Promise<any> = broker.call.bind(broker);
    const spy = jest.spyOn(broker, "call").mockImplementation(((name: string, params: any, opts: any) => {
      // Notifications ask too, for the confirmation's address: only the orders service's asks count.
      if (name === "users.contact" && opts?.parentCtx?.service?.name === "orders") asked.push(params.id);
      return call(name, params, opts);
    }) as any);
    try {
      expect((await place(buyer.token, p.id)).status).toBe(201);
      expect(asked).toEqual([]);
      // A token issued without the claim (as before it was carried): scoring asks, once per account.
      const older = await call("tokens.issue", { userId: buyer.id, role: "customer" });
      expect((await place(older.accessToken, p.id)).status).toBe(201);
      expect((await place(older.accessToken, p.id)).status).toBe(201);
      expect(asked).toEqual([buyer.id]);
    } finally {
      spy.mockRestore();
    }
  });

  it("should hold the next order after 5 declines of the account: 202 on_hold, stock held, nothing charged", async () => {
    const { buyer, p, order } = await heldOrder();
    expect(order.status).toBe("on_hold");
    expect(order).not.toHaveProperty("risk");
    expect(order.history.map((h: any) => h.status)).toEqual(["pending", "on_hold"]);
    expect(await level(p.id)).toMatchObject({ available: 8, reserved: 2 });
    await expect(broker.call("payments.get", { orderId: order.id })).rejects.toMatchObject({ code: 404 });
    const seen = await http("GET", `/api/orders/${order.id}`, undefined, adminToken);
    expect(seen.body.risk.level).toBe("high");
    expect(seen.body.risk.reasons).toContain("card_testing");
    expect((await http("GET", `/api/orders/${order.id}`, undefined, buyer.token)).body.status).toBe(
      "on_hold",
    );
    const held = await published("order.held", order.id);
    expect(held).toHaveLength(1);
    expect(held[0].data).toMatchObject({ orderId: order.id, userId: buyer.id, risk: { level: "high" } });
  });

  it("should hold the next order after 5 declines from one client address, whoever placed them", async () => {
    const p = await product();
    const address = "203.0.113.77";
    const others = [await signup(), await signup()];
    // One decline from that address, placed for real, so the fixture below looks like it.
    await expect(
      broker.call("orders.place", body(p.id, DECLINED), {
        meta: { clientAddress: address, user: { id: others[0].id, role: "customer" } },
      }),
    ).rejects.toMatchObject({ code: 402 });
    const real = await orders().adapter.findOne({ userId: others[0].id });
    expect(real).toMatchObject({ status: "payment_failed", riskAddress: addressFingerprint(address) });
    // Four more of other accounts from that address: 5 within the hour.
    for (let i = 0; i < 4; i++)
      await declinedBefore({ userId: others[1].id, riskAddress: addressFingerprint(address) }, 1);
    const next = await signup();
    const placed: any = await broker.call("orders.place", body(p.id), {
      meta: { clientAddress: address, user: { id: next.id, role: "customer" } },
    });
    expect(placed.status).toBe("on_hold");
    const seen = await http("GET", `/api/orders/${placed.id}`, undefined, adminToken);
    expect(seen.body.risk).toMatchObject({
      level: "high",
      reasons: expect.arrayContaining(["card_testing"]),
    });
    // The same customer from another address is not held.
    const elsewhere: any = await broker.call("orders.place", body(p.id), {
      meta: { clientAddress: "198.51.100.1", user: { id: (await signup()).id, role: "customer" } },
    });
    expect(elsewhere.status).toBe("confirmed");
  });

  it("should charge and confirm a held order an admin approves, once", async () => {
    const { buyer, p, order } = await heldOrder();
    const res = await review(order.id, "approve");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: order.id, status: "confirmed", payment: { status: "succeeded" } });
    expect(res.body.risk.level).toBe("high");
    expect(res.body.history.map((h: any) => h.status)).toEqual(["pending", "on_hold", "confirmed"]);
    expect(await level(p.id)).toMatchObject({ available: 8, reserved: 0 });
    expect((await broker.call("payments.get", { orderId: order.id })) as any).toMatchObject({
      status: "succeeded",
      amount: 5000,
    });
    expect((await review(order.id, "approve")).status).toBe(409);
    const own = await http("GET", `/api/orders/${order.id}`, undefined, buyer.token);
    expect(own.body.status).toBe("confirmed");
    expect(own.body).not.toHaveProperty("risk");
    expect((await published("order.reviewed", order.id)).map((e) => e.data)).toEqual([
      { orderId: order.id, userId: buyer.id, decision: "approve" },
    ]);
    expect(await published("order.paid", order.id)).toHaveLength(1);
  });

  it("should cancel a held order an admin rejects and release its stock, charging nothing", async () => {
    const { p, order } = await heldOrder();
    const res = await review(order.id, "reject");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("cancelled");
    expect(await level(p.id)).toMatchObject({ available: 10, reserved: 0 });
    expect((await broker.call("payments.get", { orderId: order.id })) as any).toMatchObject({
      status: "voided",
    });
    expect((await published("order.cancelled", order.id))[0].data).toMatchObject({
      reason: "rejected_in_review",
    });
    expect((await review(order.id, "approve")).status).toBe(409);
  });

  it("should refuse a review of an order not on hold (409), by a customer (403), of an unknown order (404), or a bad decision (422)", async () => {
    const buyer = await signup();
    const p = await product();
    const confirmed = await place(buyer.token, p.id);
    const res = await review(confirmed.body.id, "approve");
    expect(res.status).toBe(409);
    expect(res.body.type).toBe("ORDER_NOT_ON_HOLD");
    const { order } = await heldOrder();
    expect((await review(order.id, "approve", buyer.token)).status).toBe(403);
    expect((await review("no-such-order", "approve")).status).toBe(404);
    const bad = await review(order.id, "maybe");
    expect(bad.status).toBe(422);
    expect(bad.body.data[0].field).toBe("decision");
  });

  it("should let the customer cancel a held order: stock back, nothing charged", async () => {
    const { buyer, p, order } = await heldOrder();
    const res = await http("POST", `/api/orders/${order.id}/cancel`, undefined, buyer.token);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("cancelled");
    expect(res.body).not.toHaveProperty("risk");
    expect(await level(p.id)).toMatchObject({ available: 10, reserved: 0 });
    expect((await review(order.id, "approve")).status).toBe(409);
  });

  it("should cancel a held order past its reservation's TTL and release the stock", async () => {
    const { p, order } = await heldOrder();
    await orders().updateOneIf({ _id: order.id }, { $set: { heldUntil: Date.now() - 1 } });
    await orders().expireHolds();
    const seen = await http("GET", `/api/orders/${order.id}`, undefined, adminToken);
    expect(seen.body.status).toBe("cancelled");
    expect(await level(p.id)).toMatchObject({ available: 10, reserved: 0 });
    expect((await published("order.cancelled", order.id))[0].data).toMatchObject({
      reason: "hold_expired",
    });
  });

  it("should compensate an approved order whose card is declined: payment_failed, stock released", async () => {
    const { p, order } = await heldOrder(DECLINED);
    expect(await level(p.id)).toMatchObject({ reserved: 2 });
    const res = await review(order.id, "approve");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("payment_failed");
    expect(await level(p.id)).toMatchObject({ available: 10, reserved: 0 });
    expect(await published("order.payment_failed", order.id)).toHaveLength(1);
  });

  it("should not sell an approved order whose reservation ran out meanwhile: refunded, nothing kept", async () => {
    const { p, order } = await heldOrder();
    // The inventory sweep gave the stock back while the order waited.
    await broker.call("inventory.release", { orderId: order.id });
    const res = await review(order.id, "approve");
    expect(res.body.status).toBe("payment_failed");
    expect(await level(p.id)).toMatchObject({ available: 10, reserved: 0 });
    const pay: any = await broker.call("payments.get", { orderId: order.id });
    expect(["voided", "refunded"]).toContain(pay.status);
  });
});
