/**
 * Outbound webhooks on the embedded default (in-process channels, NeDB), with fast retries: the
 * admin routes' answers, the deactivation after 20 failed deliveries in a row (and its email to
 * the admin), and the address check at delivery time against DNS answers that change.
 */
import fs from "node:fs";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { jsonClient } from "../support/http";
import { bootNode } from "../support/node";
import { WebhookReceiver } from "../support/webhook-receiver";
import { waitFor } from "../support/cluster";
import type { ResolvedAddress } from "../../lib/ssrf";

const ADMIN = { email: "webhooks-int@shop.test", password: "webhooks-int-password" };

describe("outbound webhooks on the embedded default", () => {
  let broker: ServiceBroker;
  let base: string;
  let adminToken: string;
  let customerToken: string;
  const dataDir = path.join(process.env.DATA_DIR!, "webhooks-int");
  const http = jsonClient(() => base);
  const receivers: WebhookReceiver[] = [];
  const receiver = async (answer?: ConstructorParameters<typeof WebhookReceiver>[0]) => {
    const r = await new WebhookReceiver(answer).start();
    receivers.push(r);
    return r;
  };
  const createProduct = async () => {
    const res = await http(
      "POST",
      "/api/products",
      { name: `Hooked ${Math.random().toString(36).slice(2)}`, price: 500, stock: 10 },
      adminToken,
    );
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const service = () => broker.getLocalService("webhooks") as any;

  beforeAll(async () => {
    ({ broker, base } = await bootNode({
      SERVICES: "api,users,tokens,products,inventory,webhooks",
      DATA_DIR: dataDir,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      WEBHOOK_ALLOW_HTTP: "1",
      WEBHOOK_ALLOW_PRIVATE: "1",
      WEBHOOK_BACKOFF_MS: "1",
      WEBHOOK_TIMEOUT_MS: "2000",
    }));
    adminToken = (await http("POST", "/api/user/login", ADMIN)).body.accessToken;
    const signup = await http("POST", "/api/user/signup", {
      email: "hook-customer@shop.test",
      password: "customer-password",
      name: "Cus Tomer",
    });
    customerToken = signup.body.accessToken;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await broker?.stop();
  });

  describe("the admin routes", () => {
    it("should create with 201, a Location and the secret, list without the secret, change and delete", async () => {
      const r = await receiver();
      const created = await http(
        "POST",
        "/api/webhooks",
        { url: r.url, events: ["product.created"] },
        adminToken,
      );
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.any(String),
        url: r.url,
        events: ["product.created"],
        active: true,
        secret: expect.stringMatching(/^whsec_/),
        deactivatedAt: null,
        deactivationReason: null,
        consecutiveFailures: 0,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const id = created.body.id;
      const list = await http("GET", "/api/webhooks", undefined, adminToken);
      expect(list.body).toMatchObject({ page: 1, pageSize: 20 });
      expect(list.body.rows.find((x: any) => x.id === id)).not.toHaveProperty("secret");
      const patched = await http(
        "PATCH",
        `/api/webhooks/${id}`,
        { events: ["*"], active: false },
        adminToken,
      );
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id, events: ["*"], active: false });
      expect(patched.body).not.toHaveProperty("secret");
      expect((await http("DELETE", `/api/webhooks/${id}`, undefined, adminToken)).status).toBe(204);
      for (const [method, p] of [
        ["PATCH", `/api/webhooks/${id}`],
        ["DELETE", `/api/webhooks/${id}`],
        ["GET", `/api/webhooks/${id}/deliveries`],
      ])
        expect(
          (await http(method, p, method === "PATCH" ? { active: true } : undefined, adminToken)).status,
        ).toBe(404);
    });

    it("should answer 422 naming the field for a bad url, unknown events or unknown fields", async () => {
      const cases: [unknown, string][] = [
        [{ url: "ftp://127.0.0.1/x", events: ["*"] }, "url"],
        [{ url: "not a url", events: ["*"] }, "url"],
        [{ url: "https://example.com/x", events: ["payment.succeeded"] }, "events"],
        [{ url: "https://example.com/x", events: [] }, "events"],
        [{ url: "https://example.com/x", events: "order.placed" }, "events"],
        [{ url: "https://example.com/x", events: ["*"], secret: "mine" }, "secret"],
      ];
      for (const [body, field] of cases) {
        const res = await http("POST", "/api/webhooks", body, adminToken);
        expect([field, res.status]).toEqual([field, 422]);
        expect(res.body.data.map((d: any) => d.field)).toContain(field);
      }
    });

    it("should answer 401 without a token and 403 to a customer", async () => {
      expect((await http("GET", "/api/webhooks")).status).toBe(401);
      expect((await http("GET", "/api/webhooks", undefined, customerToken)).status).toBe(403);
      const r = await receiver();
      expect((await http("POST", "/api/webhooks", { url: r.url, events: ["*"] }, customerToken)).status).toBe(
        403,
      );
    });
  });

  it("should record a redelivered event once per endpoint, and for an endpoint added since", async () => {
    const [a, b, c] = [await receiver(), await receiver(), await receiver()];
    const subscribe = async (r: WebhookReceiver) =>
      expect(
        (await http("POST", "/api/webhooks", { url: r.url, events: ["product.updated"] }, adminToken)).status,
      ).toBe(201);
    await subscribe(a);
    await subscribe(b);
    const evt = {
      eventId: `redelivered-${Date.now()}`,
      type: "product.updated",
      version: 1,
      // After the third endpoint's creation too: an endpoint gets only events from its creation on.
      occurredAt: new Date(Date.now() + 60_000).toISOString(),
      key: "p-redelivered",
      data: { productId: "p-redelivered" },
    };
    await service().intake(evt);
    await service().intake(evt); // the channel redelivers it: both records exist
    await subscribe(c);
    await service().intake(evt); // again, with one endpoint more: only its record is new
    const sent = (r: WebhookReceiver) => r.requests.filter((x) => x.eventId === evt.eventId).length;
    await waitFor("each receiver to get the event", async () => [a, b, c].every((r) => sent(r) > 0));
    await new Promise((r) => setTimeout(r, 300));
    expect([a, b, c].map(sent)).toEqual([1, 1, 1]);
  });

  it("should switch an endpoint off after 20 deliveries in a row failed, say so, and email the admin", async () => {
    const dead = await receiver(() => 500);
    const created = await http(
      "POST",
      "/api/webhooks",
      { url: dead.url, events: ["product.created"] },
      adminToken,
    );
    const id = created.body.id;
    // 21 products: 21 aggregates, so none waits on another; the 21st finds the endpoint off.
    for (let i = 0; i < 21; i++) await createProduct();
    const off = await waitFor(
      "the endpoint to be switched off",
      async () => {
        const list = await http("GET", "/api/webhooks?pageSize=100", undefined, adminToken);
        const row = list.body.rows.find((x: any) => x.id === id);
        return row && !row.active ? row : undefined;
      },
      60_000,
    );
    expect(off).toMatchObject({ active: false, deactivationReason: "20 deliveries in a row failed" });
    expect(off.deactivatedAt).toEqual(expect.any(String));
    const log = await http("GET", `/api/webhooks/${id}/deliveries?pageSize=100`, undefined, adminToken);
    const failed = log.body.rows.filter((d: any) => d.status === "failed");
    expect(failed.length).toBeGreaterThanOrEqual(20);
    // What the dispatcher reads (`pendingOf`) is only what is still to send, never a failed one.
    const pendingInLog = log.body.rows.filter((d: any) => d.status === "pending").length;
    expect(await service().countDocs({ pendingOf: id })).toBeLessThanOrEqual(pendingInLog);
    expect(failed[0]).toMatchObject({
      attempts: 8,
      lastStatusCode: 500,
      lastError: "HTTP 500",
      deliveredAt: null,
    });
    const mail = await waitFor("the admin's email", async () => {
      const dir = path.join(dataDir, "mail");
      const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
      const texts = files.map((f) => fs.readFileSync(path.join(dir, f), "utf8"));
      return texts.find((t) => t.includes("Webhook endpoint deactivated") && t.includes(id));
    });
    expect(mail).toContain(`To: ${ADMIN.email}`);
  }, 90_000);

  describe("the address check at delivery time", () => {
    let answers: Record<string, string>;
    beforeEach(() => {
      const svc = service();
      svc.resolver = async (host: string): Promise<ResolvedAddress[]> => {
        const address = answers[host];
        if (!address) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
        return [{ address, family: 4 }];
      };
    });
    afterEach(() => {
      const svc = service();
      svc.cfg = { ...svc.cfg, webhooks: { ...svc.cfg.webhooks, allowPrivate: true } };
    });

    it("should connect to the address it checked, not to a second lookup of the name", async () => {
      const r = await receiver();
      answers = { "hooks.shop.test": "127.0.0.1" };
      const url = r.url.replace("127.0.0.1", "hooks.shop.test");
      expect(
        (await http("POST", "/api/webhooks", { url, events: ["product.created"] }, adminToken)).status,
      ).toBe(201);
      await createProduct();
      // hooks.shop.test exists in no DNS: only the pinned address reaches the receiver.
      await waitFor("the delivery", async () => r.accepted().length === 1);
    });

    it("should refuse a delivery when the name now resolves to 127.0.0.1 (DNS rebinding)", async () => {
      const r = await receiver();
      const svc = service();
      svc.cfg = { ...svc.cfg, webhooks: { ...svc.cfg.webhooks, allowPrivate: false } };
      answers = { "rebind.shop.test": "93.184.216.34" };
      const url = r.url.replace("127.0.0.1", "rebind.shop.test");
      const created = await http("POST", "/api/webhooks", { url, events: ["product.created"] }, adminToken);
      expect(created.status).toBe(201);
      answers = { "rebind.shop.test": "127.0.0.1" };
      await createProduct();
      const row = await waitFor("a refused attempt", async () => {
        const log = await http("GET", `/api/webhooks/${created.body.id}/deliveries`, undefined, adminToken);
        return log.body.rows.find((d: any) => d.attempts >= 2);
      });
      expect(row.lastError).toMatch(/refused: .*127\.0\.0\.1/);
      expect(row.lastStatusCode).toBeNull();
      expect(r.requests).toEqual([]);
      expect((await http("DELETE", `/api/webhooks/${created.body.id}`, undefined, adminToken)).status).toBe(
        204,
      );
    });

    it("should answer 422 on `url` when the host resolves to a private address", async () => {
      const svc = service();
      svc.cfg = { ...svc.cfg, webhooks: { ...svc.cfg.webhooks, allowPrivate: false } };
      answers = { "inside.shop.test": "10.0.0.7" };
      const res = await http(
        "POST",
        "/api/webhooks",
        { url: "https://inside.shop.test/x", events: ["*"] },
        adminToken,
      );
      expect(res.status).toBe(422);
      expect(res.body.data[0]).toMatchObject({ field: "url", type: "WEBHOOK_URL_FORBIDDEN" });
    });
  });
});
