/**
 * GraphQL counts against the same per-client limits as REST (lib/rate-limit.ts through the
 * gateway's `throttle`): one counter for both APIs, and the auth limit for signup and login.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import type { startNode } from "../../bin/node";
import { freePort } from "../support/cluster";
import { jsonClient } from "../support/http";

const LIMIT = 6;
const AUTH_LIMIT = 2;

describe("GraphQL under REST's rate limits", () => {
  let broker: ServiceBroker;
  let base: string;
  const http = jsonClient(() => base);
  const gql = (query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) =>
    http("POST", "/graphql", { query, variables }, undefined, headers);

  beforeAll(async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      PORT: String(await freePort()),
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "graphql-rl-")),
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      AUTH_RATE_LIMIT_PER_MINUTE: String(AUTH_LIMIT),
      TRUST_PROXY: "1",
      NODE_ENV: "test",
    });
    let starting!: ReturnType<typeof startNode>;
    jest.isolateModules(() => (starting = require("../../bin/node").startNode()));
    broker = await starting;
    base = `http://127.0.0.1:${process.env.PORT}`;
    process.env = saved;
  }, 120_000);

  afterAll(() => broker?.stop());

  it("should share one per-client counter between REST and GraphQL and answer 429 with Retry-After past it", async () => {
    const client = { "x-forwarded-for": "203.0.113.10" };
    for (let i = 0; i < LIMIT / 2; i++) {
      expect((await http("GET", "/api/products", undefined, undefined, client)).status).toBe(200);
      expect((await gql("{ products { total } }", {}, client)).status).toBe(200);
    }
    const refused = await gql("{ products { total } }", {}, client);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: "RATE_LIMITED", type: "RATE_LIMITED" });
    expect((await http("GET", "/api/products", undefined, undefined, client)).status).toBe(429);
    // Another client is counted on its own.
    expect((await gql("{ products { total } }", {}, { "x-forwarded-for": "203.0.113.11" })).status).toBe(200);
  });

  it("should count signup mutations against the auth limit", async () => {
    const client = { "x-forwarded-for": "203.0.113.20" };
    const SIGNUP = `mutation($i: SignupInput!) { signup(input: $i) { user { id } } }`;
    const input = (n: number) => ({
      email: `rl${n}-${Date.now()}@shop.test`,
      password: "buyer-password",
      name: "R",
    });
    for (let n = 0; n < AUTH_LIMIT; n++)
      expect((await gql(SIGNUP, { i: input(n) }, client)).body.errors).toBeUndefined();
    const third = await gql(SIGNUP, { i: input(9) }, client);
    expect(third.body.errors[0].extensions).toMatchObject({ code: "RATE_LIMITED", type: "RATE_LIMITED" });
    expect(third.body.data).toBeNull();
  });
});
