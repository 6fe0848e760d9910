/**
 * /graphql of a node with NODE_ENV=production: no GraphiQL page or assets, introspection refused,
 * queries still answered.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { startNode } from "../../bin/node";
import { freePort } from "../support/cluster";
import { rsaPair } from "../support/fixtures";
import { jsonClient } from "../support/http";

describe("GraphQL in production", () => {
  let broker: ServiceBroker;
  let base: string;
  const http = jsonClient(() => base);

  beforeAll(async () => {
    const saved = { ...process.env };
    const keys = rsaPair();
    Object.assign(process.env, {
      PORT: String(await freePort()),
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "graphql-prod-")),
      NODE_ENV: "production",
      JWT_PRIVATE_KEY: keys.privateKey,
      JWT_PUBLIC_KEY: keys.publicKey,
      PAYMENT_WEBHOOK_SECRET: "graphql-production-secret",
      LOG_LEVEL: "error",
    });
    let starting!: ReturnType<typeof startNode>;
    jest.isolateModules(() => (starting = require("../../bin/node").startNode()));
    broker = await starting;
    base = `http://127.0.0.1:${process.env.PORT}`;
    process.env = saved;
  }, 120_000);

  afterAll(() => broker?.stop());

  it("should serve no GraphiQL page and no asset of it", async () => {
    const page = await fetch(`${base}/graphql`, { headers: { accept: "text/html" } });
    expect(page.headers.get("content-type")).not.toMatch(/html/);
    expect(page.headers.get("content-security-policy")).toBeNull();
    expect(await page.text()).not.toMatch(/graphiql/i);
    expect((await fetch(`${base}/graphql/assets/graphiql.js`)).status).toBe(404);
  });

  it("should refuse introspection and still answer queries", async () => {
    const refused = await http("POST", "/graphql", { query: "{ __schema { queryType { name } } }" });
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors[0]).toMatchObject({
      message: expect.stringMatching(/introspection/i),
      extensions: { code: "GRAPHQL_VALIDATION_FAILED", type: "GRAPHQL_VALIDATION_FAILED" },
    });
    const typeQuery = await http("POST", "/graphql", { query: '{ __type(name: "Order") { name } }' });
    expect(typeQuery.body.data).toBeUndefined();
    const ok = await http("POST", "/graphql", { query: "{ products { total } }" });
    expect(ok.body).toEqual({ data: { products: { total: 0 } } });
  });
});
