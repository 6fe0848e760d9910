/**
 * Recommendations with every service in one broker on NeDB (in-process channels): counted from
 * the orders' events, answered over HTTP without the product itself, removed or out-of-stock
 * products, or what the customer bought; an event counts once however often it is delivered,
 * also when a store error cut its first delivery off between two writes.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import { CoPurchaseModel } from "../../domain/recommendations";
import { bootNode } from "../support/node";
import { ADDRESS, VISA } from "../support/fixtures";
import { jsonClient } from "../support/http";
import { waitFor } from "../support/cluster";
import { withStoreFault } from "../support/store-faults";

const ADMIN = { email: "recs-admin@shop.test", password: "recs-admin-password" };
const ADMIN_META = { meta: { user: { id: "admin", role: "admin" } } };

describe("recommendations from the shop's own orders", () => {
  let broker: ServiceBroker;
  let base: string;
  let adminToken: string;
  let seq = 0;
  const http = jsonClient(() => base);
  const recs = () => broker.getLocalService("recommendations") as any;

  const signup = async () => {
    const res = await http("POST", "/api/user/signup", {
      email: `recs${++seq}-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "Buyer",
    });
    expect(res.status).toBe(201);
    return { token: res.body.accessToken as string, id: res.body.user.id as string };
  };
  const product = async (name: string, category: string, stock = 50) =>
    (await broker.call("products.create", { name, price: 1000, stock, category }, ADMIN_META)) as any;
  const buy = async (token: string, ...products: any[]) => {
    const res = await http(
      "POST",
      "/api/orders",
      {
        items: products.map((p) => ({ productId: p.id, quantity: 1 })),
        payment: VISA,
        shippingAddress: ADDRESS,
      },
      token,
    );
    expect(res.status).toBe(201);
    return res.body;
  };
  const forProduct = (id: string) => http("GET", `/api/products/${id}/recommendations`);
  const forMe = (token: string) => http("GET", "/api/user/recommendations", undefined, token);
  const ids = (res: any) => res.body.rows.map((p: any) => p.id);
  const buyers = async (productId: string) => (await recs().adapter.findById(`i:${productId}`))?.n ?? 0;

  let camera: any, lens: any, bag: any, tripod: any, lamp: any, bulb: any, shade: any;

  beforeAll(async () => {
    ({ broker, base } = await bootNode({
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "recs-int-")),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      TRANSPORTER: undefined,
      MONGO_URI: undefined,
      RISK_HOLD_LEVEL: undefined,
    }));
    adminToken = (await http("POST", "/api/user/login", ADMIN)).body.accessToken;
    camera = await product("Camera", "photo");
    lens = await product("Lens", "photo");
    bag = await product("Camera bag", "bags");
    tripod = await product("Tripod", "photo");
    lamp = await product("Lamp", "home");
    bulb = await product("Bulb", "home");
    shade = await product("Shade", "home");
    const [ann, bob, cat, dan, gil] = [
      await signup(),
      await signup(),
      await signup(),
      await signup(),
      await signup(),
    ];
    await buy(ann.token, camera, lens);
    await buy(bob.token, camera, lens, bag);
    await buy(cat.token, camera);
    await buy(cat.token, bag); // another order of the same customer still pairs them
    await buy(dan.token, lamp, bulb);
    await buy(dan.token, bulb); // customers count, not orders: bulb is ahead of lamp by gil's order
    await buy(gil.token, bulb);
    const all = [camera, lens, bag, tripod, lamp, bulb, shade];
    await waitFor("the orders and products counted", async () => {
      const customers = await Promise.all([ann, bob, cat, dan, gil].map((c) => recs().boughtBy(c.id)));
      const items = await Promise.all(all.map((p) => recs().adapter.findById(`i:${p.id}`)));
      return (
        customers.map((c: string[]) => c.length).join() === "2,3,2,2,1" && items.every((i) => i?.category)
      );
    });
  }, 120_000);

  afterAll(() => broker?.stop());

  it("should recommend what was bought with a product, most similar first, never the product itself", async () => {
    const res = await forProduct(camera.id);
    expect(res.status).toBe(200);
    expect(res.body.strategy).toBe("bought_together");
    // lens: 2 of camera's 3 buyers, 2 buyers in all; bag: 2 of 3, 2 in all; tied, then popular photo: tripod has none.
    expect(ids(res).slice(0, 2).sort()).toEqual([bag.id, lens.id].sort());
    expect(ids(res)).not.toContain(camera.id);
    expect(res.body.rows[0]).toMatchObject({ name: expect.any(String), price: 1000, active: true });
    expect(res.body.rows.length).toBeLessThanOrEqual(12);
  });

  it("should answer with popular products of its category when nothing was bought with it", async () => {
    const res = await forProduct(shade.id);
    expect(res.status).toBe(200);
    expect(res.body.strategy).toBe("popular_in_category");
    expect(ids(res)).toEqual([bulb.id, lamp.id]);
  });

  it("should answer 404 for an unknown product", async () => {
    expect((await forProduct("no-such-product")).status).toBe(404);
  });

  it("should leave out products out of stock and removed ones", async () => {
    expect((await http("PUT", `/api/inventory/${lens.id}`, { available: 0 }, adminToken)).status).toBe(200);
    expect(ids(await forProduct(camera.id))).not.toContain(lens.id);
    expect((await http("DELETE", `/api/products/${bag.id}`, undefined, adminToken)).status).toBe(204);
    const res = await forProduct(camera.id);
    expect(ids(res)).not.toContain(bag.id);
    expect(ids(res)).not.toContain(lens.id);
    expect((await http("PUT", `/api/inventory/${lens.id}`, { available: 50 }, adminToken)).status).toBe(200);
    expect(ids(await forProduct(camera.id))).toContain(lens.id);
  });

  it("should recommend a customer what buyers like them bought, none of what they bought", async () => {
    const eve = await signup();
    await buy(eve.token, camera);
    await waitFor("eve's order counted", async () => (await recs().boughtBy(eve.id)).includes(camera.id));
    const res = await forMe(eve.token);
    expect(res.status).toBe(200);
    expect(res.body.strategy).toBe("for_you");
    expect(ids(res)[0]).toBe(lens.id);
    expect(ids(res)).not.toContain(camera.id);
  });

  it("should give a customer with no orders the most bought products, and need a token", async () => {
    const fay = await signup();
    const res = await forMe(fay.token);
    expect(res.body.strategy).toBe("popular");
    expect(ids(res)[0]).toBe(camera.id);
    expect((await http("GET", "/api/user/recommendations")).status).toBe(401);
  });

  it("should answer the forProduct action as the route does (for GraphQL)", async () => {
    const viaAction: any = await broker.call("recommendations.forProduct", { id: camera.id });
    expect(viaAction).toEqual((await forProduct(camera.id)).body);
  });

  describe("an event counted once", () => {
    const placed = (customer: string, products: string[]): EventEnvelope<"order.placed"> => ({
      eventId: randomUUID(),
      type: "order.placed",
      version: 1,
      occurredAt: new Date().toISOString(),
      key: randomUUID(),
      data: {
        orderId: randomUUID(),
        userId: customer,
        items: products.map((productId) => ({ productId }) as any),
        total: 0,
        currency: "USD",
      },
    });
    // What the channel handler runs for each delivery.
    const deliver = (evt: EventEnvelope) => recs().onEvent(evt);
    /** The counts of `products` as the store holds them: buyers per product and per pair. */
    const stored = async (products: string[]) => {
      const out: Record<string, number> = {};
      for (const p of products) out[p] = await buyers(p);
      const pairs = await recs().coPurchasesOf(products);
      for (const [p, list] of pairs) for (const c of list) out[`${p}~${c.other}`] = c.common;
      return out;
    };
    const expected = (model: CoPurchaseModel, products: string[]) => {
      const out: Record<string, number> = {};
      for (const p of products) out[p] = model.buyers(p);
      for (const p of products) for (const c of model.coPurchasesOf(p)) out[`${p}~${c.other}`] = c.common;
      return out;
    };

    it("should change nothing when an order's event is delivered again", async () => {
      const products = [`x${randomUUID()}`, `y${randomUUID()}`, `z${randomUUID()}`];
      const evt = placed("redelivered-customer", products);
      await deliver(evt);
      const once = await stored(products);
      await deliver(evt);
      await deliver({ ...evt, eventId: randomUUID() }); // the same order again: customers count, not orders
      expect(await stored(products)).toEqual(once);
      expect(once[products[0]]).toBe(1);
      expect(once[`${products[0]}~${products[1]}`]).toBe(1);
    });

    it("should count an event whose first delivery a store error cut off at any write exactly once", async () => {
      for (let failAt = 1; ; failAt++) {
        const products = [`a${randomUUID()}`, `b${randomUUID()}`, `c${randomUUID()}`];
        const model = new CoPurchaseModel();
        const first = placed(`early-${failAt}`, [products[0]]);
        const evt = placed(`cut-${failAt}`, products);
        const other = placed(`other-${failAt}`, [products[0], products[1]]);
        await deliver(first);
        await deliver(other);
        model.add(first.eventId, first.data.userId!, [products[0]]);
        model.add(other.eventId, other.data.userId!, [products[0], products[1]]);
        model.add(evt.eventId, evt.data.userId!, products);
        const fired = await withStoreFault(recs(), { failAt }, () => deliver(evt));
        // JetStream redelivers an event whose handler failed.
        await deliver(evt);
        expect({ failAt, counts: await stored(products) }).toEqual({
          failAt,
          counts: expected(model, products),
        });
        if (!fired) break;
      }
    });
  });
});
