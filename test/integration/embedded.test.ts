import type { ServiceBroker } from "moleculer";
import { reloadConfig } from "../../lib/config";
import { startNode } from "../../bin/node";
import { freePort } from "../support/cluster";

describe("the embedded default: every service in one broker", () => {
  let broker: ServiceBroker;
  let base: string;

  beforeAll(async () => {
    process.env.PORT = String(await freePort());
    reloadConfig();
    broker = await startNode();
    base = `http://127.0.0.1:${process.env.PORT}`;
  });
  afterAll(() => broker?.stop());

  it("should start every service of the codebase", () => {
    const names = broker.registry.getServiceList({ onlyLocal: true }).map((s: any) => s.name);
    for (const s of reloadConfig().services) expect(names).toContain(s);
  });

  it("should answer /health/live and /health/ready with 200", async () => {
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ok",
      checks: { transporter: "embedded", services: "up", database: "up" },
    });
  });

  it("should answer an unknown route with 404 in the error format", async () => {
    const res = await fetch(`${base}/api/no-such-route`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      name: "NotFoundError",
      message: "Not found",
      code: 404,
      type: "NOT_FOUND",
      data: {},
    });
  });

  it("should answer malformed JSON with 400", async () => {
    const res = await fetch(`${base}/api/.well-known/jwks.json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 400, type: "INVALID_JSON" });
  });

  it("should answer a body over 1 MB with 413", async () => {
    const res = await fetch(`${base}/api/.well-known/jwks.json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ blob: "x".repeat(1024 * 1024 + 10) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ name: "PayloadTooLarge", code: 413 });
  });

  it("should answer a cached catalogue read as JSON, the same as the first time", async () => {
    const first = await fetch(`${base}/api/products?pageSize=5`);
    const second = await fetch(`${base}/api/products?pageSize=5`);
    for (const res of [first, second]) expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await second.json()).toEqual(await first.json());
  });

  it("should echo a given X-Request-Id and make one up otherwise", async () => {
    const given = await fetch(`${base}/health/live`, { headers: { "x-request-id": "abc-123" } });
    expect(given.headers.get("x-request-id")).toBe("abc-123");
    const made = await fetch(`${base}/health/live`);
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
