/**
 * GraphQL at /graphql beside REST, every service in one broker on NeDB: the sign-up, cart and
 * checkout scenarios of auth.test.ts and checkout.test.ts through GraphQL, authorization,
 * the limits (depth, cost, aliases, batching, GET), and the DataLoader batching count.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { startNode } from "../../bin/node";
import { freePort } from "../support/cluster";
import { ADDRESS, DECLINED, VISA } from "../support/fixtures";
import { jsonClient } from "../support/http";

const USER = "{ id email name role notifications { email sms } createdAt }";
const CART =
  "{ items { productId variantId sku name variantTitle unitPrice quantity lineTotal } subtotal currency }";
const ORDER = `{ id userId status subtotal total currency payment { id status }
  items { productId variantId name unitPrice quantity lineTotal } history { status } }`;

describe("GraphQL over the same services, rules and tokens as REST", () => {
  let broker: ServiceBroker;
  let base: string;
  let seq = 0;
  /** Every action called through the broker while counting: by name, and those the gateway made. */
  let calls: string[] | null = null;
  let fromGateway: string[] = [];

  const http = jsonClient(() => base);
  const gql = async (query: string, variables?: Record<string, unknown>, token?: string, headers = {}) => {
    const res = await http("POST", "/graphql", { query, variables }, token, headers);
    return { status: res.status, data: res.body?.data, errors: res.body?.errors as any[] | undefined, res };
  };
  const codes = (r: { errors?: any[] }) => (r.errors ?? []).map((e) => e.extensions?.code);
  const email = () => `gql${++seq}-${Date.now()}@shop.test`;
  const signup = async () => {
    const r = await gql(
      `mutation($input: SignupInput!) { signup(input: $input) { user { id } accessToken } }`,
      {
        input: { email: email(), password: "buyer-password", name: "Buyer" },
      },
    );
    expect(r.errors).toBeUndefined();
    return { token: r.data.signup.accessToken as string, id: r.data.signup.user.id as string };
  };
  const product = async (price: number, stock: number, extra: Record<string, unknown> = {}) =>
    (await broker.call(
      "products.create",
      { name: `GQL product ${++seq}`, price, ...(extra.variants ? {} : { stock }), ...extra },
      { meta: { user: { id: "admin", role: "admin" } } },
    )) as any;
  const level = (productId: string) => broker.call("inventory.get", { productId }) as Promise<any>;
  const PLACE = `mutation($input: PlaceOrderInput!, $key: String) { placeOrder(input: $input, idempotencyKey: $key) ${ORDER} }`;
  const place = (token: string, input: Record<string, unknown>, key?: string) =>
    gql(PLACE, { input, key }, token);
  const ADD = `mutation($input: CartLineInput!) { addToCart(input: $input) ${CART} }`;

  beforeAll(async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      PORT: String(await freePort()),
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "graphql-int-")),
      RATE_LIMIT_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      NODE_ENV: "test",
    });
    let starting!: ReturnType<typeof startNode>;
    jest.isolateModules(() => (starting = require("../../bin/node").startNode()));
    broker = await starting;
    base = `http://127.0.0.1:${process.env.PORT}`;
    process.env = saved;
    const call = broker.call.bind(broker);
    (broker as any).call = (action: string, ...rest: unknown[]) => {
      // moleculer-web calls the gateway's own action by its endpoint: only services' actions count.
      if (calls && typeof action === "string") {
        calls.push(action);
        if ((rest[1] as any)?.parentCtx?.service?.name === "api") fromGateway.push(action);
      }
      return (call as any)(action, ...rest);
    };
  }, 120_000);

  afterAll(() => broker?.stop());

  describe("sign-up, login and tokens", () => {
    it("should sign up a customer with the REST user fields and a token pair, and find it with me", async () => {
      const address = email();
      const r = await gql(
        `mutation($input: SignupInput!) { signup(input: $input) { user ${USER} accessToken refreshToken expiresIn } }`,
        { input: { email: address.toUpperCase(), password: "buyer-password", name: "Ann" } },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.signup).toEqual({
        user: {
          id: expect.any(String),
          email: address,
          name: "Ann",
          role: "customer",
          notifications: { email: true, sms: true },
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
      });
      const me = await gql(`{ me ${USER} }`, {}, r.data.signup.accessToken);
      expect(me.data.me).toEqual(r.data.signup.user);
    });

    it("should answer a second signup with the same email with code EMAIL_TAKEN, and a short password with BAD_USER_INPUT naming it", async () => {
      const address = email();
      const input = { email: address, password: "buyer-password", name: "Ann" };
      const SIGNUP = `mutation($input: SignupInput!) { signup(input: $input) { user { id } } }`;
      expect((await gql(SIGNUP, { input })).errors).toBeUndefined();
      const again = await gql(SIGNUP, { input: { ...input, email: address.toUpperCase() } });
      expect(again.errors?.[0].extensions).toMatchObject({ code: "EMAIL_TAKEN", type: "EMAIL_TAKEN" });
      expect(again.data).toBeNull();
      const short = await gql(SIGNUP, { input: { ...input, email: email(), password: "short" } });
      expect(short.errors?.[0].extensions).toMatchObject({
        code: "BAD_USER_INPUT",
        type: "VALIDATION_ERROR",
      });
      expect(short.errors?.[0].extensions.fields.map((f: any) => f.field)).toEqual(["password"]);
    });

    it("should log in, refuse a wrong password as UNAUTHENTICATED, and rotate refresh tokens once", async () => {
      const address = email();
      await gql(`mutation($i: SignupInput!) { signup(input: $i) { user { id } } }`, {
        i: { email: address, password: "buyer-password", name: "Ann" },
      });
      const LOGIN = `mutation($i: LoginInput!) { login(input: $i) { user { email } refreshToken } }`;
      const ok = await gql(LOGIN, { i: { email: address, password: "buyer-password" } });
      expect(ok.data.login.user.email).toBe(address);
      const wrong = await gql(LOGIN, { i: { email: address, password: "not-the-password" } });
      expect(wrong.errors?.[0].extensions).toMatchObject({ code: "UNAUTHENTICATED" });
      const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken expiresIn } }`;
      const first = await gql(REFRESH, { t: ok.data.login.refreshToken });
      expect(first.data.refreshToken).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
      });
      const old = await gql(REFRESH, { t: ok.data.login.refreshToken });
      expect(old.errors?.[0].extensions).toMatchObject({
        code: "UNAUTHENTICATED",
        type: "INVALID_REFRESH_TOKEN",
      });
    });

    it("should answer me, cart and orders without a token as UNAUTHENTICATED NO_TOKEN, and with a bad one as INVALID_TOKEN", async () => {
      for (const field of ["me { id }", "cart { subtotal }", "orders { total }", 'order(id: "x") { id }']) {
        const anonymous = await gql(`{ ${field} }`);
        expect(anonymous.errors?.[0].extensions).toEqual({
          code: "UNAUTHENTICATED",
          type: "NO_TOKEN",
          status: 401,
        });
        const forged = await gql(`{ ${field} }`, {}, "not.a.token");
        expect(forged.errors?.[0].extensions).toMatchObject({
          code: "UNAUTHENTICATED",
          type: "INVALID_TOKEN",
        });
      }
      const mutation = await gql(
        `mutation { addToCart(input: { productId: "x", quantity: 1 }) { subtotal } }`,
      );
      expect(codes(mutation)).toEqual(["UNAUTHENTICATED"]);
    });
  });

  describe("the cart", () => {
    it("should keep one cart per user, adding to an existing line, in the REST shape", async () => {
      const ann = await signup();
      const bob = await signup();
      const p = await product(1999, 10);
      expect((await gql(`{ cart ${CART} }`, {}, ann.token)).data.cart).toEqual({
        items: [],
        subtotal: 0,
        currency: "USD",
      });
      await gql(ADD, { input: { productId: p.id, quantity: 2 } }, ann.token);
      const r = await gql(ADD, { input: { productId: p.id, quantity: 3 } }, ann.token);
      expect(r.data.addToCart).toEqual({
        items: [
          {
            productId: p.id,
            variantId: p.id,
            sku: p.sku,
            name: p.name,
            variantTitle: "Default",
            unitPrice: 1999,
            quantity: 5,
            lineTotal: 9995,
          },
        ],
        subtotal: 9995,
        currency: "USD",
      });
      expect((await gql(`{ cart ${CART} }`, {}, bob.token)).data.cart.items).toEqual([]);
      const UPDATE = `mutation($id: ID!, $q: Int!) { updateCartItem(id: $id, quantity: $q) ${CART} }`;
      const patched = await gql(UPDATE, { id: p.id, q: 7 }, ann.token);
      expect(patched.data.updateCartItem.items[0]).toMatchObject({ quantity: 7, lineTotal: 13993 });
      const removed = await gql(UPDATE, { id: p.id, q: 0 }, ann.token);
      expect(removed.data.updateCartItem).toMatchObject({ items: [], subtotal: 0 });
    });

    it("should answer NOT_FOUND for an unknown product or a line not in the cart, and BAD_USER_INPUT naming quantity", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const unknown = await gql(ADD, { input: { productId: "no-such-product", quantity: 1 } }, ann.token);
      expect(unknown.errors?.[0].extensions).toMatchObject({ code: "NOT_FOUND", type: "NOT_FOUND" });
      const notInCart = await gql(
        `mutation { updateCartItem(id: "${p.id}", quantity: 1) { subtotal } }`,
        {},
        ann.token,
      );
      expect(codes(notInCart)).toEqual(["NOT_FOUND"]);
      for (const quantity of [0, 101, -1]) {
        const r = await gql(ADD, { input: { productId: p.id, quantity } }, ann.token);
        expect(r.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", type: "VALIDATION_ERROR" });
        expect(r.errors?.[0].extensions.fields.map((f: any) => f.field)).toContain("quantity");
      }
      // A wrong type never reaches the service: GraphQL's coercion refuses it, in REST's terms.
      const typed = await gql(ADD, { input: { productId: p.id, quantity: "2" } }, ann.token);
      expect(typed.errors).toHaveLength(1);
      expect(typed.errors?.[0].extensions).toMatchObject({
        code: "BAD_USER_INPUT",
        type: "VALIDATION_ERROR",
      });
      expect(typed.errors?.[0].extensions.fields.map((f: any) => f.field)).toEqual(["quantity"]);
      expect(typed.data).toBeUndefined();
      const nested = await place(ann.token, {
        items: [{ productId: p.id, quantity: 1.5 }],
        payment: VISA,
        shippingAddress: ADDRESS,
      });
      expect(nested.errors?.[0].extensions.fields.map((f: any) => f.field)).toEqual(["items[0].quantity"]);
      const unknownField = await gql(`{ cart { nope } }`, {}, ann.token);
      expect(unknownField.errors?.[0].extensions).toMatchObject({
        code: "GRAPHQL_VALIDATION_FAILED",
        type: "GRAPHQL_VALIDATION_FAILED",
      });
      expect((await gql(`{ cart { items { quantity } } }`, {}, ann.token)).data.cart.items).toEqual([]);
    });

    it("should answer applyPromotion with PROMOTIONS_UNAVAILABLE while no carts.applyPromotion is registered", async () => {
      const ann = await signup();
      const r = await gql(`mutation { applyPromotion(code: "SAVE10") { subtotal } }`, {}, ann.token);
      if (broker.registry.actions.isAvailable("carts.applyPromotion")) return;
      expect(r.errors?.[0].extensions).toMatchObject({ code: "PROMOTIONS_UNAVAILABLE" });
    });
  });

  describe("placing and cancelling orders", () => {
    it("should place an order with server-side prices: confirmed, stock sold, readable by order(id)", async () => {
      const ann = await signup();
      const a = await product(1999, 10);
      const b = await product(500, 3);
      const r = await place(ann.token, {
        items: [
          { productId: a.id, quantity: 2 },
          { productId: b.id, quantity: 3 },
        ],
        payment: VISA,
        shippingAddress: { ...ADDRESS, line2: "Apt 4" },
      });
      expect(r.errors).toBeUndefined();
      expect(r.data.placeOrder).toEqual({
        id: expect.any(String),
        userId: ann.id,
        status: "confirmed",
        subtotal: 5498,
        total: 5498,
        currency: "USD",
        payment: { id: expect.stringMatching(/^pay_/), status: "succeeded" },
        items: [
          { productId: a.id, variantId: a.id, name: a.name, unitPrice: 1999, quantity: 2, lineTotal: 3998 },
          { productId: b.id, variantId: b.id, name: b.name, unitPrice: 500, quantity: 3, lineTotal: 1500 },
        ],
        history: [{ status: "pending" }, { status: "confirmed" }],
      });
      expect(await level(a.id)).toEqual({ productId: a.id, available: 8, reserved: 0 });
      expect(await level(b.id)).toEqual({ productId: b.id, available: 0, reserved: 0 });
      const read = await gql(
        `query($id: ID!) { order(id: $id) ${ORDER} }`,
        { id: r.data.placeOrder.id },
        ann.token,
      );
      expect(read.data.order).toEqual(r.data.placeOrder);
    });

    it("should order the cart's lines when no items are given and empty the cart", async () => {
      const ann = await signup();
      const p = await product(750, 4);
      await gql(ADD, { input: { productId: p.id, quantity: 3 } }, ann.token);
      const r = await place(ann.token, { payment: VISA, shippingAddress: ADDRESS });
      expect(r.data.placeOrder).toMatchObject({ total: 2250, items: [{ productId: p.id, quantity: 3 }] });
      expect((await gql(`{ cart { items { quantity } } }`, {}, ann.token)).data.cart.items).toEqual([]);
      expect(await level(p.id)).toMatchObject({ available: 1, reserved: 0 });
      const empty = await place(ann.token, { payment: VISA, shippingAddress: ADDRESS });
      expect(codes(empty)).toEqual(["BAD_USER_INPUT"]);
    });

    it("should answer INSUFFICIENT_STOCK naming every short product, with nothing reserved and no order", async () => {
      const ann = await signup();
      const ok = await product(100, 5);
      const short = await product(100, 1);
      const r = await place(ann.token, {
        items: [
          { productId: ok.id, quantity: 2 },
          { productId: short.id, quantity: 2 },
        ],
        payment: VISA,
        shippingAddress: ADDRESS,
      });
      expect(r.errors?.[0].extensions).toMatchObject({
        code: "INSUFFICIENT_STOCK",
        type: "INSUFFICIENT_STOCK",
        data: { productIds: [short.id] },
      });
      expect(await level(ok.id)).toEqual({ productId: ok.id, available: 5, reserved: 0 });
      expect((await gql(`{ orders { total } }`, {}, ann.token)).data.orders.total).toBe(0);
    });

    it("should answer a declined card with PAYMENT_DECLINED carrying the payment_failed order, its stock released", async () => {
      const ann = await signup();
      const p = await product(300, 2);
      const r = await place(ann.token, {
        items: [{ productId: p.id, quantity: 1 }],
        payment: DECLINED,
        shippingAddress: ADDRESS,
      });
      expect(r.errors?.[0].extensions).toMatchObject({ code: "PAYMENT_DECLINED", type: "PAYMENT_DECLINED" });
      expect(r.errors?.[0].extensions.data.order).toMatchObject({ status: "payment_failed" });
      expect(await level(p.id)).toEqual({ productId: p.id, available: 2, reserved: 0 });
    });

    it("should answer BAD_USER_INPUT naming an unknown card token or a missing city, and reserve nothing", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const items = [{ productId: p.id, quantity: 1 }];
      const card = await place(ann.token, {
        items,
        payment: { method: "card", token: "tok_mastercard" },
        shippingAddress: ADDRESS,
      });
      expect(card.errors?.[0].extensions.fields.map((f: any) => f.field)).toContain("payment.token");
      const unknown = await place(ann.token, {
        items: [{ productId: "nope", quantity: 1 }],
        payment: VISA,
        shippingAddress: ADDRESS,
      });
      expect(unknown.errors?.[0].extensions.fields.map((f: any) => f.field)).toContain("items[0].productId");
      expect(await level(p.id)).toEqual({ productId: p.id, available: 5, reserved: 0 });
    });

    it("should answer the same idempotencyKey with the same order and create nothing more", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const input = { items: [{ productId: p.id, quantity: 1 }], payment: VISA, shippingAddress: ADDRESS };
      const first = await place(ann.token, input, "gql-key-1");
      const again = await place(ann.token, input, "gql-key-1");
      expect(again.data.placeOrder.id).toBe(first.data.placeOrder.id);
      expect(await level(p.id)).toMatchObject({ available: 4 });
      const other = await place(
        ann.token,
        { ...input, items: [{ productId: p.id, quantity: 2 }] },
        "gql-key-1",
      );
      expect(codes(other)).toEqual(["BAD_USER_INPUT"]);
    });

    it("should cancel an order with its stock returned, and refuse a second cancel with ORDER_NOT_CANCELLABLE's REST type", async () => {
      const ann = await signup();
      const p = await product(100, 5);
      const placed = await place(ann.token, {
        items: [{ productId: p.id, quantity: 2 }],
        payment: VISA,
        shippingAddress: ADDRESS,
      });
      const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { status payment { status } } }`;
      const cancelled = await gql(CANCEL, { id: placed.data.placeOrder.id }, ann.token);
      expect(cancelled.data.cancelOrder).toEqual({ status: "cancelled", payment: { status: "refunded" } });
      expect(await level(p.id)).toEqual({ productId: p.id, available: 5, reserved: 0 });
      const twice = await gql(CANCEL, { id: placed.data.placeOrder.id }, ann.token);
      const rest = await http(
        "POST",
        `/api/orders/${placed.data.placeOrder.id}/cancel`,
        undefined,
        ann.token,
      );
      expect(rest.status).toBe(409);
      expect(twice.errors?.[0].extensions).toMatchObject({ code: rest.body.type, type: rest.body.type });
    });
  });

  describe("authorization", () => {
    it("should answer another user's order as NOT_FOUND, for reading and cancelling, and list only one's own", async () => {
      const ann = await signup();
      const bob = await signup();
      const p = await product(100, 5);
      const placed = await place(ann.token, {
        items: [{ productId: p.id, quantity: 1 }],
        payment: VISA,
        shippingAddress: ADDRESS,
      });
      const id = placed.data.placeOrder.id;
      const read = await gql(`query($id: ID!) { order(id: $id) { id total } }`, { id }, bob.token);
      expect(read.errors?.[0].extensions).toMatchObject({
        code: "NOT_FOUND",
        type: "NOT_FOUND",
        status: 404,
      });
      expect(read.data).toEqual({ order: null });
      const cancel = await gql(`mutation($id: ID!) { cancelOrder(id: $id) { status } }`, { id }, bob.token);
      expect(codes(cancel)).toEqual(["NOT_FOUND"]);
      expect((await gql(`{ orders { total } }`, {}, bob.token)).data.orders.total).toBe(0);
      const mine = await gql(`{ order(id: "${id}") { status } }`, {}, ann.token);
      expect(mine.data.order.status).toBe("confirmed");
    });
  });

  describe("limits, checked before anything runs", () => {
    /** `ofType { ... }` n times around `name`: introspection is the one way to nest deep here. */
    const ofTypes = (n: number): string => (n === 0 ? "name" : `ofType { ${ofTypes(n - 1)} }`);

    it("should refuse a query deeper than 10 levels with DEPTH_LIMIT, introspection and fragments counted, calling no action", async () => {
      // __schema > types > fields > type is 4 levels; 5 ofTypes and name make 10.
      const ten = await gql(`{ __schema { types { fields { type { ${ofTypes(5)} } } } } }`);
      expect(ten.errors).toBeUndefined();
      calls = [];
      const eleven = await gql(`
        fragment Deep on __Type { ${ofTypes(6)} }
        { me { id } __schema { types { fields { type { ...Deep } } } } }`);
      expect(eleven.errors?.[0].extensions).toMatchObject({
        code: "DEPTH_LIMIT",
        type: "DEPTH_LIMIT",
        depth: 11,
        limit: 10,
      });
      expect(eleven.data).toBeUndefined();
      expect(calls).toEqual([]);
      calls = null;
    });

    it("should refuse a query over the cost limit with COST_LIMIT, its page size read from the variables, calling no action", async () => {
      const ann = await signup();
      // 20 orders cost 5441 (the batching query below); 100 orders cost 27,201.
      const query = `query($n: Int) { orders(pageSize: $n) { rows { items {
        product { variants { stock { available } } stock { available } } variant { stock { available } } } } } }`;
      calls = [];
      const small = await gql(query, { n: 20 }, ann.token);
      expect(small.errors).toBeUndefined();
      expect(calls).toContain("orders.list");
      calls = [];
      const big = await gql(query, { n: 100 }, ann.token);
      expect(big.errors?.[0].extensions).toMatchObject({
        code: "COST_LIMIT",
        type: "COST_LIMIT",
        limit: 25_000,
      });
      expect(big.data).toBeUndefined();
      expect(calls).toEqual([]);
      calls = null;
    });

    it("should refuse more than 20 aliases, and a batch of operations", async () => {
      const aliases = Array.from({ length: 21 }, (_, i) => `a${i}: products { total }`).join(" ");
      calls = [];
      const r = await gql(`{ ${aliases} }`);
      expect(codes(r)).toEqual(["ALIAS_LIMIT"]);
      const batch = await http("POST", "/graphql", [
        { query: "{ products { total } }" },
        { query: "{ me { id } }" },
      ]);
      expect(batch.status).toBe(400);
      expect(batch.body.errors[0].extensions).toMatchObject({ code: "BATCHING_DISABLED" });
      expect(calls).toEqual([]);
      calls = null;
    });

    it("should refuse a body over 1 MB with 413 and one that is not JSON with 400, in GraphQL's error shape", async () => {
      const big = await http("POST", "/graphql", {
        query: `{ products { total } } # ${"x".repeat(1_100_000)}`,
      });
      expect(big.status).toBe(413);
      expect(big.body.errors[0].extensions).toMatchObject({
        code: "PAYLOAD_TOO_LARGE",
        type: "PAYLOAD_TOO_LARGE",
      });
      const broken = await http("POST", "/graphql", "{ not json");
      expect(broken.status).toBe(400);
      expect(broken.body.errors[0].extensions).toMatchObject({ code: "INVALID_JSON", type: "INVALID_JSON" });
    });

    it("should answer a query over GET and refuse a mutation over GET with 405", async () => {
      const p = await product(4242, 1);
      const q = encodeURIComponent(`query($id: ID!) { product(id: $id) { id price } }`);
      const v = encodeURIComponent(JSON.stringify({ id: p.id }));
      const get = await http("GET", `/graphql?query=${q}&variables=${v}`);
      expect(get.status).toBe(200);
      expect(get.body.data.product).toEqual({ id: p.id, price: 4242 });
      const m = encodeURIComponent(`mutation { refreshToken(refreshToken: "x") { accessToken } }`);
      const refused = await http("GET", `/graphql?query=${m}`);
      expect(refused.status).toBe(405);
      expect(refused.headers.get("allow")).toBe("POST");
    });
  });

  describe("products and batching", () => {
    it("should answer products with REST's page and filters, and product(id) NOT_FOUND for an unknown id", async () => {
      const category = `gql-cat-${Date.now()}`;
      const cheap = await product(100, 1, { category });
      await product(900, 0, { category });
      const q = `query($f: ProductFilter) { products(filter: $f, pageSize: 1) { rows { id price available } total page pageSize totalPages } }`;
      const r = await gql(q, { f: { category, maxPrice: 500 } });
      expect(r.data.products).toEqual({
        rows: [{ id: cheap.id, price: 100, available: 1 }],
        total: 1,
        page: 1,
        pageSize: 1,
        totalPages: 1,
      });
      const rest = await http("GET", `/api/products?category=${category}&sort=-price`);
      const same = await gql(
        `{ products(filter: { category: "${category}", sort: "-price" }) { rows { id } total } }`,
      );
      expect(same.data.products.rows.map((p: any) => p.id)).toEqual(rest.body.rows.map((p: any) => p.id));
      const bad = await gql(`{ products(filter: { sort: "cheapest" }) { total } }`);
      expect(bad.errors?.[0].extensions.fields.map((f: any) => f.field)).toEqual(["sort"]);
      const missing = await gql(`{ product(id: "no-such-product") { id } }`);
      expect(missing.errors?.[0].extensions).toMatchObject({ code: "NOT_FOUND", type: "NOT_FOUND" });
    });

    it("should answer a catalogue query from the gateway's cache until a product changes, as REST does", async () => {
      const category = `gql-cached-${Date.now()}`;
      const p = await product(1000, 1, { category });
      const q = `{ products(filter: { category: "${category}" }) { rows { id price } } }`;
      expect((await gql(q)).data.products.rows).toEqual([{ id: p.id, price: 1000 }]);
      calls = [];
      expect((await gql(q)).data.products.rows).toEqual([{ id: p.id, price: 1000 }]);
      expect(calls).toEqual([]);
      calls = null;
      await broker.call(
        "products.update",
        { id: p.id, price: 1250 },
        { meta: { user: { id: "admin", role: "admin" } } },
      );
      expect((await gql(q)).data.products.rows).toEqual([{ id: p.id, price: 1250 }]);
    });

    it("should answer 20 orders with their products, variants and stock in a bounded number of service calls", async () => {
      const ann = await signup();
      const shirt = await product(2500, 0, {
        options: [{ name: "Size", values: ["S", "M"] }],
        variants: [
          { sku: `GQL-S-${seq}`, options: { Size: "S" }, stock: 50 },
          { sku: `GQL-M-${seq}`, options: { Size: "M" }, stock: 50 },
        ],
      });
      const mug = await product(800, 100);
      const cap = await product(1200, 100);
      for (let i = 0; i < 20; i++) {
        const r = await place(ann.token, {
          items: [
            { variantId: shirt.variants[i % 2].id, quantity: 1 },
            { productId: mug.id, quantity: 1 },
            { productId: cap.id, quantity: 1 },
          ],
          payment: VISA,
          shippingAddress: ADDRESS,
        });
        expect(r.errors).toBeUndefined();
      }
      const query = `{ orders(pageSize: 20) { total rows { id items {
        quantity product { name available variants { id stock { available reserved } } stock { available } }
        variant { sku stock { available } } } } } }`;
      [calls, fromGateway] = [[], []];
      const r = await gql(query, {}, ann.token);
      const [all, counted] = [calls, fromGateway];
      calls = null;
      expect(r.errors).toBeUndefined();
      expect(r.data.orders.rows).toHaveLength(20);
      const line = r.data.orders.rows[0].items.find((l: any) => l.product.name === mug.name);
      expect(line.product.stock).toEqual({ available: 80 });
      expect(line.variant).toEqual({ sku: mug.sku, stock: { available: 80 } });
      const shirtLine = r.data.orders.rows[0].items.find((l: any) => l.product.name === shirt.name);
      expect(shirtLine.product.stock).toEqual({ available: 80 });
      // 60 lines, 180 product, variant and stock fields: one orders.list, one products.get per
      // distinct product, one inventory.getMany for every variant's stock.
      const byAction = counted.reduce<Record<string, number>>((n, a) => ((n[a] = (n[a] ?? 0) + 1), n), {});
      expect(byAction).toEqual({ "orders.list": 1, "products.get": 3, "inventory.getMany": 1 });
      // Behind them, at most one inventory.getMany per products.get (its own availability read).
      expect(all.length).toBeLessThanOrEqual(8);
    });

    it("should answer recommendations with strategy unavailable while no recommendations service runs", async () => {
      const p = await product(100, 1);
      const r = await gql(`{ recommendations(productId: "${p.id}") { rows { id } strategy } }`);
      if (broker.registry.actions.isAvailable("recommendations.forProduct")) return;
      expect(r.data.recommendations).toEqual({ rows: [], strategy: "unavailable" });
    });
  });
});
