import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../../contracts";
import type { startNode } from "../../bin/node";
import { guestCartId } from "../../domain/guest-tokens";
import { freePort, waitFor } from "../support/cluster";
import { ADDRESS, VISA } from "../support/fixtures";
import { jsonClient } from "../support/http";

const ADMIN = { email: "guests-admin@shop.test", password: "guests-admin-pw" };
const PASSWORD = "buyer-password";
const CART_CREATE_LIMIT = 400;
const WELL_FORMED_UNKNOWN = `gc_${"A".repeat(43)}`;

describe("guest carts, guest checkout, addresses and personal data, every service in one broker on NeDB", () => {
  let broker: ServiceBroker;
  let base: string;
  let dataDir: string;
  const events: EventEnvelope[] = [];
  let seq = 0;

  const http = jsonClient(() => base);
  const asGuest = (cartToken: string, extra: Record<string, string> = {}) => ({
    "x-cart-token": cartToken,
    ...extra,
  });
  const newCart = async () => {
    const res = await http("POST", "/api/carts");
    expect(res.status).toBe(201);
    return res.body.cartToken as string;
  };
  const email = () => `guest${++seq}-${Date.now()}@shop.test`;
  const signup = async (extra: Record<string, unknown> = {}) => {
    const address = email();
    const res = await http("POST", "/api/user/signup", {
      email: address,
      password: PASSWORD,
      name: "Buyer",
      ...extra,
    });
    expect(res.status).toBe(201);
    return {
      email: address,
      token: res.body.accessToken as string,
      refreshToken: res.body.refreshToken as string,
      id: res.body.user.id as string,
    };
  };
  const product = async (price: number, stock: number) =>
    (await broker.call(
      "products.create",
      { name: `Guest product ${++seq}`, price, stock },
      { meta: { user: { id: "admin", role: "admin" } } },
    )) as any;
  const add = (headers: { token?: string; cartToken?: string }, productId: string, quantity: number) =>
    http(
      "POST",
      "/api/cart/items",
      { productId, quantity },
      headers.token,
      headers.cartToken ? asGuest(headers.cartToken) : {},
    );
  const quantities = (cart: any) => Object.fromEntries(cart.items.map((l: any) => [l.productId, l.quantity]));
  const guestOrder = (extra: Record<string, unknown> = {}) => ({
    payment: VISA,
    shippingAddress: ADDRESS,
    email: email(),
    ...extra,
  });

  beforeAll(async () => {
    const saved = { ...process.env };
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "guests-int-"));
    Object.assign(process.env, {
      PORT: String(await freePort()),
      DATA_DIR: dataDir,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      GUEST_CART_RATE_LIMIT_PER_MINUTE: String(CART_CREATE_LIMIT),
      LOG_LEVEL: "error",
    });
    let starting!: ReturnType<typeof startNode>;
    jest.isolateModules(() => (starting = require("../../bin/node").startNode()));
    broker = await starting;
    base = `http://127.0.0.1:${process.env.PORT}`;
    process.env = saved;
    const send = (broker as any).sendToChannel.bind(broker);
    (broker as any).sendToChannel = (channel: string, payload: any, opts: unknown) => {
      events.push(payload);
      return send(channel, payload, opts);
    };
  }, 120_000);

  afterAll(() => broker?.stop());

  describe("guest carts", () => {
    it("should start an empty guest cart whose token is stored only as a hash", async () => {
      const res = await http("POST", "/api/carts");
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        cartToken: expect.stringMatching(/^gc_[A-Za-z0-9_-]{43}$/),
        cart: {
          id: expect.stringMatching(/^guest:/),
          items: [],
          subtotal: 0,
          currency: "USD",
          updatedAt: expect.any(String),
          ...{ regionId: null, promotionCode: null, shippingOption: null, taxRate: 0, taxInclusive: false },
          ...{ discountTotal: 0, shippingTotal: 0, taxTotal: 0, total: 0 },
        },
      });
      const stored = await (broker.getLocalService("carts") as any).adapter.findById(
        guestCartId(res.body.cartToken),
      );
      expect(stored).toMatchObject({ guest: true, items: [] });
      expect(res.body.cart.id).toBe(stored._id);
      const file = fs.readFileSync(path.join(dataDir, "carts.db"), "utf8");
      expect(file).not.toContain(res.body.cartToken.slice(3));
    });

    it("should let a guest fill, change and read its cart with X-Cart-Token alone", async () => {
      const cartToken = await newCart();
      const p = await product(1500, 10);
      expect((await add({ cartToken }, p.id, 2)).status).toBe(200);
      const changed = await http(
        "PATCH",
        `/api/cart/items/${p.id}`,
        { quantity: 3 },
        undefined,
        asGuest(cartToken),
      );
      expect(changed.status).toBe(200);
      const cart = await http("GET", "/api/cart", undefined, undefined, asGuest(cartToken));
      expect(cart.body).toMatchObject({
        subtotal: 4500,
        items: [{ productId: p.id, quantity: 3, lineTotal: 4500 }],
      });
    });

    it("should answer 401 naming X-Cart-Token for an unknown or a malformed cart token", async () => {
      const unknown = await http("GET", "/api/cart", undefined, undefined, asGuest(WELL_FORMED_UNKNOWN));
      expect([unknown.status, unknown.body.data[0].field]).toEqual([401, "X-Cart-Token"]);
      // The credential is checked before anything else: no product lookup for an unknown cart.
      const add = await http("POST", "/api/cart/items", { productId: "no-such", quantity: 1 }, undefined, {
        "x-cart-token": WELL_FORMED_UNKNOWN,
      });
      expect(add.status).toBe(401);
      const order = await http("POST", "/api/orders", guestOrder(), undefined, asGuest("nope"));
      expect(order.status).toBe(401);
      for (const bad of ["nope", `gc_${"A".repeat(42)}$`, `${WELL_FORMED_UNKNOWN}x`]) {
        const res = await http("GET", "/api/cart", undefined, undefined, asGuest(bad));
        expect([bad, res.status, res.body.data?.[0]?.field]).toEqual([bad, 401, "X-Cart-Token"]);
      }
      expect((await http("GET", "/api/cart")).status).toBe(401);
    });

    it("should refuse a token whose cart was unused past GUEST_CART_TTL_DAYS (30), and merge nothing from it", async () => {
      const cartToken = await newCart();
      const p = await product(100, 10);
      await add({ cartToken }, p.id, 1);
      const carts = broker.getLocalService("carts") as any;
      const idle = Date.now() - 30 * 86_400_000 - 60_000;
      await carts.updateOneIf({ _id: guestCartId(cartToken) }, { $set: { lastUsedAtMs: idle } });
      expect((await http("GET", "/api/cart", undefined, undefined, asGuest(cartToken))).status).toBe(401);
      const user = await signup({ cartToken });
      expect((await http("GET", "/api/cart", undefined, user.token)).body.items).toEqual([]);
    });

    it("should keep a cart in use alive: a read records its use", async () => {
      const cartToken = await newCart();
      const carts = broker.getLocalService("carts") as any;
      const nearlyIdle = Date.now() - 30 * 86_400_000 + 60_000;
      await carts.updateOneIf({ _id: guestCartId(cartToken) }, { $set: { lastUsedAtMs: nearlyIdle } });
      expect((await http("GET", "/api/cart", undefined, undefined, asGuest(cartToken))).status).toBe(200);
      const doc = await carts.adapter.findById(guestCartId(cartToken));
      expect(doc.lastUsedAtMs).toBeGreaterThan(Date.now() - 60_000);
    });

    it("should use the user's cart when a bearer and a cart token come together, never the guest's", async () => {
      const user = await signup();
      const cartToken = await newCart();
      const p = await product(1000, 10);
      const q = await product(2000, 10);
      await add({ cartToken }, p.id, 1);
      const both = await http(
        "POST",
        "/api/cart/items",
        { productId: q.id, quantity: 4 },
        user.token,
        asGuest(cartToken),
      );
      expect(both.status).toBe(200);
      expect(quantities(both.body)).toEqual({ [q.id]: 4 });
      const guest = await http("GET", "/api/cart", undefined, undefined, asGuest(cartToken));
      expect(quantities(guest.body)).toEqual({ [p.id]: 1 });
      const mine = await http("GET", "/api/cart", undefined, user.token, asGuest(cartToken));
      expect(quantities(mine.body)).toEqual({ [q.id]: 4 });
    });
  });

  describe("merge on sign-in", () => {
    it("should add the guest's quantities to the user's, capped at 100, and then refuse the guest token", async () => {
      const user = await signup();
      const [a, b] = [await product(100, 500), await product(200, 500)];
      await add(user, a.id, 60);
      const cartToken = await newCart();
      await add({ cartToken }, a.id, 70);
      await add({ cartToken }, b.id, 2);
      const login = await http("POST", "/api/user/login", {
        email: user.email,
        password: PASSWORD,
        cartToken,
      });
      expect(login.status).toBe(200);
      const cart = await http("GET", "/api/cart", undefined, login.body.accessToken);
      expect(quantities(cart.body)).toEqual({ [a.id]: 100, [b.id]: 2 });
      expect((await http("GET", "/api/cart", undefined, undefined, asGuest(cartToken))).status).toBe(401);
      expect((await add({ cartToken }, a.id, 1)).status).toBe(401);
    });

    it("should add nothing twice when the same sign-in is retried, also concurrently", async () => {
      const user = await signup();
      const p = await product(100, 500);
      await add(user, p.id, 1);
      const cartToken = await newCart();
      await add({ cartToken }, p.id, 5);
      const body = { email: user.email, password: PASSWORD, cartToken };
      const logins = await Promise.all([1, 2, 3, 4].map(() => http("POST", "/api/user/login", body)));
      expect(logins.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect((await http("POST", "/api/user/login", body)).status).toBe(200);
      const cart = await http("GET", "/api/cart", undefined, user.token);
      expect(quantities(cart.body)).toEqual({ [p.id]: 6 });
    });

    it("should merge a guest cart into one user only, however many sign in with its token", async () => {
      const users = await Promise.all([1, 2, 3, 4, 5].map(() => signup()));
      const p = await product(100, 500);
      const cartToken = await newCart();
      await add({ cartToken }, p.id, 3);
      // The merge step itself, at once for five users (a login adds only its password check before it).
      const merges: any[] = await Promise.all(
        users.map((u) => broker.call("carts.merge", { userId: u.id, cartToken })),
      );
      expect(merges.filter((m) => m.merged)).toHaveLength(1);
      const carts = await Promise.all(users.map((u) => http("GET", "/api/cart", undefined, u.token)));
      const held = carts.map((c) => quantities(c.body)[p.id] ?? 0).sort();
      expect(held).toEqual([0, 0, 0, 0, 3]);
    });

    it("should merge at signup too, and refuse a malformed cartToken with 422 naming it", async () => {
      const p = await product(100, 500);
      const cartToken = await newCart();
      await add({ cartToken }, p.id, 2);
      const user = await signup({ cartToken });
      expect(quantities((await http("GET", "/api/cart", undefined, user.token)).body)).toEqual({ [p.id]: 2 });
      const bad = await http("POST", "/api/user/login", {
        email: user.email,
        password: PASSWORD,
        cartToken: "x",
      });
      expect(bad.status).toBe(422);
      expect(bad.body.data[0].field).toBe("cartToken");
      const op = await http("POST", "/api/user/login", {
        email: user.email,
        password: PASSWORD,
        cartToken: { $ne: null },
      });
      expect([op.status, op.body.data[0].field]).toEqual([422, "cartToken"]);
    });

    it("should sign in as usual with a token already merged or unknown", async () => {
      const user = await signup();
      const res = await http("POST", "/api/user/login", {
        email: user.email,
        password: PASSWORD,
        cartToken: WELL_FORMED_UNKNOWN,
      });
      expect(res.status).toBe(200);
    });
  });

  describe("guest checkout", () => {
    const checkout = async (cartToken: string, body = guestOrder(), key?: string) =>
      http("POST", "/api/orders", body, undefined, asGuest(cartToken, key ? { "idempotency-key": key } : {}));
    const filledCart = async (price = 1250, quantity = 2) => {
      const p = await product(price, 100);
      const cartToken = await newCart();
      await add({ cartToken }, p.id, quantity);
      return { cartToken, p };
    };

    it("should place a guest order from the cart: userId null, its email, an order token; the cart empty, its token alive", async () => {
      const { cartToken, p } = await filledCart();
      const body = guestOrder();
      const res = await checkout(cartToken, body);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        userId: null,
        email: body.email,
        status: "confirmed",
        total: 2500,
        orderToken: expect.stringMatching(/^go_[A-Za-z0-9_-]{43}$/),
        items: [{ productId: p.id, quantity: 2 }],
      });
      const cart = await http("GET", "/api/cart", undefined, undefined, asGuest(cartToken));
      expect(cart).toMatchObject({ status: 200, body: { items: [] } });
      const read = await http("GET", `/api/orders/${res.body.id}`, undefined, undefined, {
        "x-order-token": res.body.orderToken,
      });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: res.body.id, userId: null, email: body.email });
      expect(read.body.orderToken).toBeUndefined();
    });

    it("should answer 404 for a wrong or another order's token, 401 without one, and let the right one cancel", async () => {
      const first = await filledCart();
      const second = await filledCart();
      const a = (await checkout(first.cartToken)).body;
      const b = (await checkout(second.cartToken)).body;
      const withToken = (t: string) => ({ "x-order-token": t });
      const wrong = `go_${"B".repeat(43)}`;
      for (const t of [wrong, b.orderToken]) {
        expect((await http("GET", `/api/orders/${a.id}`, undefined, undefined, withToken(t))).status).toBe(
          404,
        );
        expect(
          (await http("POST", `/api/orders/${a.id}/cancel`, undefined, undefined, withToken(t))).status,
        ).toBe(404);
      }
      const malformed = await http("GET", `/api/orders/${a.id}`, undefined, undefined, withToken("x"));
      expect([malformed.status, malformed.body.data?.[0]?.field]).toEqual([404, "X-Order-Token"]);
      expect((await http("GET", `/api/orders/${a.id}`)).status).toBe(401);
      // A signed-in user's token is no way into a guest's order.
      const user = await signup();
      expect(
        (await http("GET", `/api/orders/${a.id}`, undefined, user.token, withToken(a.orderToken))).status,
      ).toBe(404);
      const cancelled = await http(
        "POST",
        `/api/orders/${a.id}/cancel`,
        undefined,
        undefined,
        withToken(a.orderToken),
      );
      expect(cancelled).toMatchObject({ status: 200, body: { status: "cancelled" } });
    });

    it("should need an email from a guest (422 naming it) and refuse a shippingAddressId", async () => {
      const { cartToken } = await filledCart();
      const { email: _none, ...noEmail } = guestOrder();
      const res = await checkout(cartToken, noEmail as any);
      expect([res.status, res.body.data[0].field]).toEqual([422, "email"]);
      const withId = await checkout(cartToken, {
        payment: VISA,
        email: email(),
        shippingAddressId: "a",
      } as any);
      expect([withId.status, withId.body.data[0].field]).toEqual([422, "shippingAddressId"]);
      const unknownField = await checkout(cartToken, { ...guestOrder(), userId: "someone" } as any);
      expect([unknownField.status, unknownField.body.data[0].field]).toEqual([422, "userId"]);
    });

    it("should replay a guest's Idempotency-Key with its order token, and scope the key to the cart token", async () => {
      const first = await filledCart();
      const body = guestOrder();
      const once = await checkout(first.cartToken, body, "guest-key-1");
      const again = await checkout(first.cartToken, body, "guest-key-1");
      expect(once.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.body.id).toBe(once.body.id);
      expect(again.body.orderToken).toBe(once.body.orderToken);
      const other = await filledCart();
      const theirs = await checkout(other.cartToken, body, "guest-key-1");
      expect(theirs.status).toBe(201);
      expect(theirs.body.id).not.toBe(once.body.id);
    });

    it("should send the guest order's confirmation to the guest's email", async () => {
      const { cartToken } = await filledCart();
      const body = guestOrder();
      const order = (await checkout(cartToken, body)).body;
      const deliveries = await waitFor("the guest's confirmation", async () => {
        const res: any = await broker.call("notifications.personalData", { userId: `order:${order.id}` });
        const sent = res.notifications.filter((n: any) => n.status !== "skipped");
        return sent.length ? sent : undefined;
      });
      expect(deliveries).toEqual([
        expect.objectContaining({
          channel: "email",
          template: "order-confirmation",
          to: body.email,
          status: "sent",
        }),
      ]);
    });
  });

  describe("the address book", () => {
    const addAddress = (token: string, body: Record<string, unknown>) =>
      http("POST", "/api/user/addresses", body, token);

    it("should make the first address the default, keep exactly one default, and list them", async () => {
      const user = await signup();
      const first = await addAddress(user.token, ADDRESS);
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ ...ADDRESS, id: expect.any(String), isDefault: true });
      const second = await addAddress(user.token, { ...ADDRESS, city: "Shelbyville", isDefault: true });
      expect(second.body.isDefault).toBe(true);
      const list = await http("GET", "/api/user/addresses", undefined, user.token);
      expect(list.body.rows.map((a: any) => [a.id, a.isDefault])).toEqual([
        [first.body.id, false],
        [second.body.id, true],
      ]);
      expect(
        (await http("DELETE", `/api/user/addresses/${second.body.id}`, undefined, user.token)).status,
      ).toBe(204);
      const after = await http("GET", "/api/user/addresses", undefined, user.token);
      expect(after.body.rows).toEqual([expect.objectContaining({ id: first.body.id, isDefault: true })]);
      const patched = await http(
        "PATCH",
        `/api/user/addresses/${first.body.id}`,
        { city: "Capital City" },
        user.token,
      );
      expect(patched.body).toMatchObject({ city: "Capital City", isDefault: true });
    });

    it("should refuse the 21st address with 409, also when 25 are added at once", async () => {
      const user = await signup();
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) => addAddress(user.token, { ...ADDRESS, line1: `${i} Main St` })),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(20);
      expect(results.filter((r) => r.status === 409)).toHaveLength(5);
      const list = await http("GET", "/api/user/addresses", undefined, user.token);
      expect(list.body.rows).toHaveLength(20);
      expect(list.body.rows.filter((a: any) => a.isDefault)).toHaveLength(1);
    });

    it("should refuse an address without country, with an unknown field or an operator, naming the field", async () => {
      const user = await signup();
      const { country: _c, ...noCountry } = ADDRESS;
      const cases: Array<[Record<string, unknown>, string]> = [
        [noCountry, "country"],
        [{ ...ADDRESS, isAdmin: true }, "isAdmin"],
        [{ ...ADDRESS, city: { $ne: null } }, "city"],
        [{ ...ADDRESS, phone: "0123" }, "phone"],
      ];
      for (const [body, field] of cases) {
        const res = await addAddress(user.token, body);
        expect([field, res.status, res.body.data.map((d: any) => d.field)]).toEqual([field, 422, [field]]);
      }
      expect((await http("GET", "/api/user/addresses", undefined, user.token)).body.rows).toEqual([]);
    });

    it("should answer 404 for another user's address on its routes and 422 when an order names it", async () => {
      const [ann, bob] = [await signup(), await signup()];
      const annsAddress = (await addAddress(ann.token, ADDRESS)).body;
      await addAddress(bob.token, { ...ADDRESS, name: "Bob" });
      expect(
        (await http("PATCH", `/api/user/addresses/${annsAddress.id}`, { city: "X" }, bob.token)).status,
      ).toBe(404);
      expect(
        (await http("DELETE", `/api/user/addresses/${annsAddress.id}`, undefined, bob.token)).status,
      ).toBe(404);
      const p = await product(100, 10);
      const order = await http(
        "POST",
        "/api/orders",
        { items: [{ productId: p.id, quantity: 1 }], payment: VISA, shippingAddressId: annsAddress.id },
        bob.token,
      );
      expect([order.status, order.body.data[0].field]).toEqual([422, "shippingAddressId"]);
      const ann2 = (await http("GET", "/api/user/addresses", undefined, ann.token)).body.rows;
      expect(ann2).toEqual([expect.objectContaining({ city: ADDRESS.city })]);
    });

    it("should ship to the address named by shippingAddressId, else to the default, else refuse with 422", async () => {
      const user = await signup();
      const p = await product(100, 10);
      const items = [{ productId: p.id, quantity: 1 }];
      const none = await http("POST", "/api/orders", { items, payment: VISA }, user.token);
      expect([none.status, none.body.data[0].field]).toEqual([422, "shippingAddress"]);
      const home = (await addAddress(user.token, { ...ADDRESS, city: "Home" })).body;
      const work = (await addAddress(user.token, { ...ADDRESS, city: "Work", phone: "+14155550123" })).body;
      const byDefault = await http("POST", "/api/orders", { items, payment: VISA }, user.token);
      expect(byDefault.status).toBe(201);
      expect(byDefault.body.shippingAddress).toEqual({ ...ADDRESS, city: "Home" });
      const byId = await http(
        "POST",
        "/api/orders",
        { items, payment: VISA, shippingAddressId: work.id },
        user.token,
      );
      expect(byId.body.shippingAddress).toEqual({ ...ADDRESS, city: "Work" });
      expect(home.isDefault).toBe(true);
    });
  });

  describe("personal data", () => {
    it("should export the user, its addresses, orders and notifications", async () => {
      const user = await signup();
      await http("POST", "/api/user/addresses", ADDRESS, user.token);
      const p = await product(700, 10);
      const order = await http(
        "POST",
        "/api/orders",
        { items: [{ productId: p.id, quantity: 1 }], payment: VISA, shippingAddress: ADDRESS },
        user.token,
      );
      await waitFor("the welcome and confirmation deliveries", async () => {
        const res = await http("GET", "/api/notifications", undefined, user.token);
        return res.body.total >= 2;
      });
      const res = await http("GET", "/api/user/me/export", undefined, user.token);
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: user.id, email: user.email });
      expect(res.body.user.passwordHash).toBeUndefined();
      expect(res.body.addresses).toEqual([expect.objectContaining(ADDRESS)]);
      expect(res.body.orders.map((o: any) => o.id)).toEqual([order.body.id]);
      const byChannel = res.body.notifications.map((n: any) => `${n.channel} ${n.template}`).sort();
      expect(byChannel).toEqual(["email order-confirmation", "email welcome", "sms order-confirmation"]);
      expect((await http("GET", "/api/user/me/export")).status).toBe(401);
    });

    it("should erase a user: 401 for a wrong password, then tokens revoked, data stripped, amounts kept, user.deleted sent", async () => {
      const user = await signup({ phone: "+14155550199" });
      await http("POST", "/api/user/addresses", ADDRESS, user.token);
      const p = await product(900, 10);
      const order = (
        await http(
          "POST",
          "/api/orders",
          {
            items: [{ productId: p.id, quantity: 2 }],
            payment: VISA,
            shippingAddress: { ...ADDRESS, line2: "Flat 9" },
          },
          user.token,
        )
      ).body;
      await add(user, p.id, 1);
      const wrong = await http("DELETE", "/api/user/me", { password: "not-the-password" }, user.token);
      expect(wrong.status).toBe(401);
      expect((await http("GET", "/api/user/me", undefined, user.token)).status).toBe(200);
      const missing = await http("DELETE", "/api/user/me", {}, user.token);
      expect([missing.status, missing.body.data[0].field]).toEqual([422, "password"]);

      expect((await http("DELETE", "/api/user/me", { password: PASSWORD }, user.token)).status).toBe(204);
      expect((await http("POST", "/api/refresh-token", { refreshToken: user.refreshToken })).status).toBe(
        401,
      );
      expect((await http("GET", "/api/user/me", undefined, user.token)).status).toBe(401);
      expect((await http("POST", "/api/user/login", { email: user.email, password: PASSWORD })).status).toBe(
        401,
      );
      const deleted = events.filter((e) => e.type === "user.deleted" && e.key === user.id);
      expect(deleted.map((e) => e.data)).toEqual([{ userId: user.id }]);

      const users = (broker.getLocalService("users") as any).adapter;
      const stored = await users.findById(user.id);
      expect(stored).toMatchObject({ addresses: [], erasedAt: expect.any(String) });
      for (const field of ["name", "phone", "passwordHash"]) expect(stored[field]).toBeUndefined();
      expect(JSON.stringify(stored)).not.toContain(user.email);

      const orders = (broker.getLocalService("orders") as any).adapter;
      const stripped = await waitFor("the order to be stripped", async () => {
        const d = await orders.findById(order.id);
        return d.shippingAddress.name === undefined ? d : undefined;
      });
      expect(stripped.shippingAddress).toEqual({ country: ADDRESS.country });
      expect(stripped).toMatchObject({ total: 1800, subtotal: 1800, currency: "USD", userId: user.id });
      const carts = (broker.getLocalService("carts") as any).adapter;
      await waitFor("the cart to be gone", async () => (await carts.findById(user.id)) === null);
      const deliveries = (broker.getLocalService("notifications") as any).adapter;
      await waitFor("the deliveries to forget their addresses", async () => {
        const rows = await deliveries.find({ query: { userId: user.id } });
        return rows.length > 0 && rows.every((d: any) => d.to === null);
      });
    });
  });

  it(`should refuse the guest cart past ${CART_CREATE_LIMIT} a minute from one client with 429 and Retry-After`, async () => {
    let refused: any;
    for (let i = 0; i <= CART_CREATE_LIMIT && !refused; i++) {
      const res = await http("POST", "/api/carts");
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(201);
    }
    expect(refused).toBeDefined();
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  }, 60_000);
});
