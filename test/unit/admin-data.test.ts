/** The admin app's data layer without a browser: the session's tokens, the data provider's requests. */
import { Session } from "../../admin/src/session";
import { fieldErrors, listQuery, RESOURCES, shopDataProvider } from "../../admin/src/dataProvider";
import { productBody, productChanges, productForm } from "../../admin/src/products/productBody";

class MemoryStorage {
  items = new Map<string, string>();
  getItem = (k: string) => this.items.get(k) ?? null;
  setItem = (k: string, v: string) => void this.items.set(k, v);
  removeItem = (k: string) => void this.items.delete(k);
}

type Handler = (method: string, path: string, body: any, auth?: string) => [number, unknown];

function fakeApi(handler: Handler) {
  const calls: { method: string; path: string; body: any; auth?: string }[] = [];
  const fetchFn = async (url: string, init: RequestInit = {}) => {
    const headers = init.headers as Record<string, string>;
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    const call = {
      method: init.method ?? "GET",
      path: url.replace(/^\/api/, ""),
      body,
      auth: headers.authorization,
    };
    calls.push(call);
    const [status, answer] = handler(call.method, call.path, body, call.auth);
    return new Response(answer === undefined ? null : JSON.stringify(answer), { status });
  };
  return { calls, fetchFn };
}

const tokens = (n: number) => ({ accessToken: `a${n}`, refreshToken: `r${n}`, expiresIn: 900 });
const admin = { id: "u1", email: "admin@shop.test", name: "Admin", role: "admin" };

describe("the admin session", () => {
  it("should refuse a customer account and revoke the refresh token it was given", async () => {
    const api = fakeApi((m, p) =>
      p === "/user/login" ? [200, { user: { ...admin, role: "customer" }, ...tokens(1) }] : [204, undefined],
    );
    const store = new MemoryStorage();
    const session = new Session(api.fetchFn, store);
    await expect(session.login("c@shop.test", "password1")).rejects.toThrow("not an admin");
    expect(api.calls.map((c) => [c.path, c.body])).toEqual([
      ["/user/login", { email: "c@shop.test", password: "password1" }],
      ["/user/logout", { refreshToken: "r1" }],
    ]);
    expect(session.signedIn).toBe(false);
  });

  it("should refresh once for calls failing together with 401, rotate the refresh token and retry them", async () => {
    let issued = 1;
    const api = fakeApi((_m, p, body, auth) => {
      if (p === "/user/login") return [200, { user: admin, ...tokens(1) }];
      if (p === "/refresh-token") {
        if (body.refreshToken !== `r${issued}`) return [401, { message: "reused", code: 401 }];
        issued += 1;
        return [200, tokens(issued)];
      }
      return auth === `Bearer a${issued}` && issued > 1 ? [200, { ok: true }] : [401, { message: "expired" }];
    });
    const store = new MemoryStorage();
    const session = new Session(api.fetchFn, store);
    await session.login("admin@shop.test", "pw");
    const answers = await Promise.all([session.request("GET", "/orders"), session.request("GET", "/users")]);
    expect(answers).toEqual([{ ok: true }, { ok: true }]);
    expect(api.calls.filter((c) => c.path === "/refresh-token")).toHaveLength(1);
    expect(store.getItem("shop-admin.refresh")).toBe("r2");
  });

  it("should end the session when the refresh is refused", async () => {
    const api = fakeApi((_m, p) =>
      p === "/user/login" ? [200, { user: admin, ...tokens(1) }] : [401, { message: "revoked" }],
    );
    const session = new Session(api.fetchFn, new MemoryStorage());
    const ended = jest.fn();
    session.onEnded = ended;
    await session.login("admin@shop.test", "pw");
    await expect(session.request("GET", "/orders")).rejects.toMatchObject({ status: 401 });
    expect(ended).toHaveBeenCalled();
    expect(session.signedIn).toBe(false);
  });

  it("should refresh ahead of the access token's expiry", async () => {
    let now = 0;
    const api = fakeApi((_m, p) =>
      p === "/user/login"
        ? [200, { user: admin, ...tokens(1) }]
        : p === "/refresh-token"
          ? [200, tokens(2)]
          : [200, {}],
    );
    const session = new Session(api.fetchFn, new MemoryStorage(), "/api", () => now);
    await session.login("admin@shop.test", "pw");
    now = 880_000; // 20 s before the 900 s are up
    await session.request("GET", "/orders");
    expect(api.calls.map((c) => c.path)).toEqual(["/user/login", "/refresh-token", "/orders"]);
    expect(api.calls[2].auth).toBe("Bearer a2");
  });
});

describe("the data provider", () => {
  it("should page on the server, with the products' sort and only the filters a route knows", () => {
    expect(
      listQuery(RESOURCES.products, {
        pagination: { page: 3, perPage: 500 },
        sort: { field: "price", order: "DESC" },
        filter: { q: "shirt", inStock: true, unknown: "x", category: "" },
      }),
    ).toBe("?page=3&pageSize=100&sort=-price&q=shirt&inStock=true");
    expect(
      listQuery(RESOURCES.orders, {
        pagination: { page: 1, perPage: 25 },
        sort: { field: "createdAt", order: "DESC" },
        filter: { status: "confirmed", userId: "u9", from: "2026-01-01" },
      }),
    ).toBe("?page=1&pageSize=25&status=confirmed&userId=u9&from=2026-01-01");
  });

  it("should put a 422's fields where the form has them", () => {
    expect(
      fieldErrors({
        message: "Parameters validation error!",
        data: [
          { field: "name", message: "The 'name' field is required." },
          { field: "variants[1].sku", message: "taken" },
        ],
      }),
    ).toEqual({
      name: "The 'name' field is required.",
      variants: [undefined, { sku: "taken" }],
      root: { serverError: "Parameters validation error!" },
    });
  });

  it("should answer a 422 as an HttpError whose body.errors react-admin shows beside the fields", async () => {
    const api = fakeApi((_m, p) =>
      p === "/user/login"
        ? [200, { user: admin, ...tokens(1) }]
        : [
            422,
            {
              name: "ValidationError",
              message: "Bad",
              code: 422,
              type: "VALIDATION_ERROR",
              data: [{ field: "price", message: "must be an integer" }],
            },
          ],
    );
    const session = new Session(api.fetchFn, new MemoryStorage());
    await session.login("admin@shop.test", "pw");
    const provider = shopDataProvider(session);
    await expect(provider.create("products", { data: { name: "X", price: 1.5 } })).rejects.toMatchObject({
      status: 422,
      message: "Bad",
      body: { errors: { price: "must be an integer" } },
    });
  });

  it("should page a route that answers {rows} whole (regions) itself", async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ id: `r${i}` }));
    const api = fakeApi((_m, p) =>
      p === "/user/login" ? [200, { user: admin, ...tokens(1) }] : [200, { rows }],
    );
    const session = new Session(api.fetchFn, new MemoryStorage());
    await session.login("admin@shop.test", "pw");
    const answer = await shopDataProvider(session).getList("regions", {
      pagination: { page: 2, perPage: 25 },
      sort: { field: "id", order: "ASC" },
      filter: {},
    });
    expect(answer.total).toBe(30);
    expect(answer.data.map((r) => r.id)).toEqual(["r25", "r26", "r27", "r28", "r29"]);
    expect(api.calls[1].path).toBe("/regions");
  });
});

describe("a product's form", () => {
  const form = {
    name: "Tee",
    price: 2000,
    currency: "USD",
    priceList: [{ currency: "eur", amount: 1800 }],
    options: [{ name: "Size", values: ["S", "M"] }],
    variants: [
      { sku: "TEE-S", values: "S", stock: 5 },
      { sku: "TEE-M", values: "M", price: 2200, priceList: [{ currency: "EUR", amount: 2000 }], stock: 3 },
    ],
  };

  it("should create options, variants with their own prices, and stock in one body", () => {
    expect(productBody(form)).toEqual({
      name: "Tee",
      price: 2000,
      currency: "USD",
      prices: { EUR: 1800 },
      options: [{ name: "Size", values: ["S", "M"] }],
      variants: [
        { sku: "TEE-S", options: { Size: "S" }, stock: 5 },
        { sku: "TEE-M", options: { Size: "M" }, price: 2200, prices: { EUR: 2000 }, stock: 3 },
      ],
    });
    expect(productBody({ name: "Mug", price: 900, stock: 4 })).toEqual({ name: "Mug", price: 900, stock: 4 });
  });

  it("should turn an edit into the product PATCH, variant calls and stock levels", () => {
    const loaded = productForm({
      id: "p1",
      name: "Tee",
      price: 2000,
      currency: "USD",
      prices: {},
      options: [{ name: "Size", values: ["S", "M"] }],
      available: 8,
      variants: [
        {
          id: "v1",
          sku: "TEE-S",
          options: { Size: "S" },
          price: 2000,
          prices: {},
          available: 5,
          active: true,
        },
        {
          id: "v2",
          sku: "TEE-M",
          options: { Size: "M" },
          price: 2000,
          prices: {},
          available: 3,
          active: true,
        },
      ],
    });
    const edited = structuredClone(loaded);
    edited.name = "T-shirt";
    edited.options = [{ name: "Size", values: ["S", "M", "L"] }];
    edited.variants![0].stock = 9;
    edited.variants![1].active = false;
    edited.variants!.push({ sku: "TEE-L", values: "L", stock: 2 });
    expect(productChanges(edited, loaded)).toEqual([
      {
        method: "PATCH",
        path: "/products/p1",
        body: { name: "T-shirt", options: [{ name: "Size", values: ["S", "M", "L"] }] },
      },
      { method: "PATCH", path: "/products/p1/variants/v2", body: { active: false } },
      {
        method: "POST",
        path: "/products/p1/variants",
        body: { sku: "TEE-L", options: { Size: "L" }, stock: 2 },
      },
      { method: "PUT", path: "/inventory/v1", body: { available: 9 } },
    ]);
    const removed = structuredClone(loaded);
    removed.variants = removed.variants!.slice(0, 1);
    expect(productChanges(removed, loaded)).toEqual([{ method: "DELETE", path: "/products/p1/variants/v2" }]);
  });
});
