import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { waitFor } from "../support/cluster";
import { jsonClient } from "../support/http";
import { bootNode } from "../support/node";

const ADMIN = { email: "migrations-admin@shop.test", password: "migrations-admin-pw" };
/** More than one batch of the start-up migration (100 products per inventory round trip). */
const OLD_PRODUCTS = 250;

/** NeDB files as a version before variants wrote them: no `skus`, no `inStock`, no `variants`. */
function oldStore(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrations-int-"));
  const at = "2026-01-01T00:00:00.000Z";
  const products: string[] = [];
  const stock: string[] = [];
  for (let i = 0; i < OLD_PRODUCTS; i++) {
    const id = `old-${String(i).padStart(4, "0")}`;
    products.push(
      JSON.stringify({
        _id: id,
        sku: `OLD-${i}`,
        name: `Old product ${i}`,
        description: "",
        price: 1000 + i,
        currency: "USD",
        category: "old",
        images: [],
        active: true,
        deleted: false,
        version: 1,
        createdAt: at,
        updatedAt: at,
      }),
    );
    // Every third one sold out.
    const available = i % 3 === 0 ? 0 : 5;
    stock.push(
      JSON.stringify({ _id: id, kind: "stock", productId: id, available, reserved: 0, deleted: false }),
    );
  }
  fs.writeFileSync(path.join(dir, "products.db"), products.join("\n") + "\n");
  fs.writeFileSync(path.join(dir, "stock.db"), stock.join("\n") + "\n");
  return dir;
}

describe("products stored before variants, on the first start of this version", () => {
  let broker: ServiceBroker;
  let base: string;
  const http = jsonClient(() => base);

  beforeAll(async () => {
    ({ broker, base } = await bootNode({
      DATA_DIR: oldStore(),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_PER_MINUTE: "1000000",
    }));
  }, 60_000);

  afterAll(() => broker?.stop());

  it("should list each as one default variant with its stock, and filter ?inStock by it", async () => {
    const inStock = Math.floor((OLD_PRODUCTS * 2) / 3);
    const res = await waitFor("the inStock flag of every old product", async () => {
      const page = await http("GET", "/api/products?category=old&inStock=true&pageSize=100");
      return page.body.total === inStock && page;
    });
    expect(res.body.rows.every((p: any) => p.available === 5)).toBe(true);
    const one = (await http("GET", "/api/products/old-0001")).body;
    expect(one).toMatchObject({ id: "old-0001", available: 5 });
    expect(one.variants).toEqual([
      expect.objectContaining({ id: "old-0001", sku: "OLD-1", title: "Default" }),
    ]);
    expect((await http("GET", "/api/products?category=old&pageSize=1")).body.total).toBe(OLD_PRODUCTS);
  });

  it("should keep an old product's SKU taken", async () => {
    const token = (await http("POST", "/api/user/login", ADMIN)).body.accessToken;
    const res = await http("POST", "/api/products", { name: "Copy", price: 100, sku: "OLD-7" }, token);
    expect([res.status, res.body.type]).toEqual([409, expect.any(String)]);
  });
});
