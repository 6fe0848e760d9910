/**
 * The OpenAPI document against the running gateway and the actions it routes to: it cannot drift
 * from API_ALIASES or from the actions' params, because every check here starts from those.
 */
import type { ServiceBroker } from "moleculer";
import { reloadConfig } from "../../lib/config";
import { startNode } from "../../bin/node";
import { freePort } from "../support/cluster";
import { ROUTE_DOCS } from "../../contracts/openapi-responses";

type Doc = Record<string, any>;

const BODY_METHODS = ["post", "put", "patch"];

/** "PATCH /cart/items/:productId" -> ["patch", "/api/cart/items/{productId}", ["productId"]]. */
function route(alias: string): [string, string, string[]] {
  const [method, p] = alias.split(" ");
  const names = [...p.matchAll(/:(\w+)/g)].map((m) => m[1]);
  return [method.toLowerCase(), `/api${p.replace(/:(\w+)/g, "{$1}")}`, names];
}

const fields = (params: Record<string, unknown>) => Object.keys(params).filter((k) => !k.startsWith("$$"));
const optional = (rule: unknown) =>
  typeof rule === "string" ? rule.split("|").includes("optional") : (rule as any)?.optional === true;

describe("the OpenAPI document and the docs page", () => {
  let broker: ServiceBroker;
  let base: string;
  let doc: Doc;
  // Imported once PORT is set: the gateway's schema reads its port when its module loads.
  let API_ALIASES: Record<string, string>;
  let GATEWAY_READS: Record<string, string>;
  let DOCS_ALIASES: Record<string, string>;
  let routedServices: () => string[];
  /** Action definitions as the broker registered them. */
  const defs = new Map<string, any>();

  beforeAll(async () => {
    process.env.PORT = String(await freePort());
    reloadConfig();
    ({ API_ALIASES, GATEWAY_READS, DOCS_ALIASES, routedServices } =
      await import("../../services/api/routes"));
    broker = await startNode();
    base = `http://127.0.0.1:${process.env.PORT}`;
    for (const item of broker.registry.getActionList({}) as any[])
      if (item.action) defs.set(item.name, item.action);
    const res = await fetch(`${base}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    doc = (await res.json()) as Doc;
  });
  afterAll(() => broker?.stop());

  const target = (alias: string) => GATEWAY_READS[API_ALIASES[alias]] ?? API_ALIASES[alias];
  const action = (alias: string) => {
    const def = defs.get(target(alias));
    if (!def) throw new Error(`${target(alias)} is not registered`);
    return def;
  };
  const op = (alias: string) => {
    const [method, p] = route(alias);
    return doc.paths?.[p]?.[method];
  };

  it("should be OpenAPI 3.1 with bearer auth and the error shape", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearerAuth).toEqual({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    expect(doc.components.schemas.Error.required.sort()).toEqual(["code", "data", "message", "name", "type"]);
    expect(Object.keys(doc.components.schemas.Error.properties).sort()).toEqual([
      "code",
      "data",
      "message",
      "name",
      "type",
    ]);
  });

  it("should document every route of API_ALIASES, named after the action it reaches", () => {
    for (const alias of Object.keys(API_ALIASES)) {
      expect([alias, op(alias)?.operationId]).toEqual([alias, target(alias)]);
      expect([alias, ROUTE_DOCS[alias]]).toEqual([alias, expect.anything()]);
    }
    expect(Object.keys(ROUTE_DOCS).sort()).toEqual(Object.keys(API_ALIASES).sort());
  });

  it("should document nothing else under /api but the docs routes", () => {
    const expected = new Set(Object.keys(API_ALIASES).map((a) => route(a).slice(0, 2).join(" ")));
    expected.add("get /api/openapi.json").add("get /api/docs");
    const documented = Object.entries(doc.paths as Doc)
      .filter(([p]) => p.startsWith("/api/"))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(documented.sort()).toEqual([...expected].sort());
    // The docs routes are the gateway's own: readiness does not wait for an "api" service.
    expect(Object.values(DOCS_ALIASES).every((a) => a.startsWith("api."))).toBe(true);
    expect(routedServices()).not.toContain("api");
  });

  it("should take each request body's fields, and their required markers, from the action's params", () => {
    let bodies = 0;
    for (const alias of Object.keys(API_ALIASES)) {
      const [method, , pathNames] = route(alias);
      const params = action(alias).params ?? {};
      const rest = fields(params).filter((k) => !pathNames.includes(k));
      const o = op(alias);
      const documentedPath = (o.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name);
      expect([alias, documentedPath.sort()]).toEqual([alias, [...pathNames].sort()]);
      for (const name of pathNames) expect([alias, name, fields(params)]).toContainEqual(fields(params));

      if (BODY_METHODS.includes(method)) {
        const schema = o.requestBody?.content?.["application/json"]?.schema;
        if (!rest.length) {
          expect([alias, o.requestBody]).toEqual([alias, undefined]);
          continue;
        }
        bodies++;
        expect([alias, Object.keys(schema.properties).sort()]).toEqual([alias, rest.sort()]);
        const required = rest.filter((k) => !optional(params[k]));
        expect([alias, (schema.required ?? []).sort()]).toEqual([alias, required.sort()]);
        expect([alias, o.requestBody.required]).toEqual([alias, required.length > 0]);
        if (params.$$strict === true) expect([alias, schema.additionalProperties]).toEqual([alias, false]);
      } else {
        const query = (o.parameters ?? []).filter((p: any) => p.in === "query");
        // An object param (the list's `options`) is no query value: it comes as `option.<name>` keys.
        const inQuery = rest.filter((k) => (params[k] as any)?.type !== "record");
        expect([alias, query.map((p: any) => p.name).sort()]).toEqual([alias, inQuery.sort()]);
        for (const p of query)
          expect([alias, p.name, p.required]).toEqual([alias, p.name, !optional(params[p.name])]);
        expect([alias, o.requestBody]).toEqual([alias, undefined]);
      }
    }
    expect(bodies).toBeGreaterThan(10);
  });

  it("should describe nested params too (orders.place, users.updateMe)", () => {
    const place = op("POST /orders").requestBody.content["application/json"].schema;
    expect(place.properties.payment).toMatchObject({
      type: "object",
      required: ["method", "token"],
      additionalProperties: false,
    });
    expect(place.properties.items).toMatchObject({ type: "array", items: { type: "object" } });
    expect(place.properties.shippingAddress.required).not.toContain("line2");
    const me = op("PATCH /user/me").requestBody.content["application/json"].schema;
    expect(me.properties.phone.type).toEqual(["string", "null"]);
    expect(typeof me.properties.phone.pattern).toBe("string");
    expect(me.properties.notifications.properties.sms).toEqual({ type: "boolean" });
  });

  // Schemathesis sends what the document allows: it must say what the validator refuses.
  it("should say that a trimmed field may not be blank, and that the webhook needs its signature", async () => {
    const name = op("POST /products").requestBody.content["application/json"].schema.properties.name;
    expect(name).toMatchObject({ type: "string", minLength: 1, maxLength: 200 });
    const blank = new RegExp(name.pattern);
    expect(["   ", "\t\u00a0\ufeff"].some((s) => blank.test(s))).toBe(false);
    expect(blank.test(" a ")).toBe(true);
    const signature = op("POST /payments/webhook").parameters.find(
      (p: any) => p.name === "Payment-Signature",
    );
    expect(signature).toMatchObject({ in: "header", required: true });
    const signup = { email: "blank@shop.test", password: "correct horse" };
    await expect(broker.call("users.signup", { ...signup, name: " \u00a0 " })).rejects.toMatchObject({
      name: "ValidationError",
      data: [expect.objectContaining({ field: "name", type: "stringMin" })],
    });
  });

  it("should ask for a bearer token exactly where the action requires one, with 401 and 403", () => {
    for (const alias of Object.keys(API_ALIASES)) {
      const auth = action(alias).auth;
      const o = op(alias);
      expect([alias, o.security]).toEqual([alias, auth ? [{ bearerAuth: [] }] : undefined]);
      expect([alias, "401" in o.responses]).toEqual([
        alias,
        Boolean(auth) || alias === "POST /user/login" || alias === "POST /refresh-token",
      ]);
      expect([alias, "403" in o.responses]).toEqual([alias, auth === "admin"]);
    }
  });

  it("should give every operation its success status and errors in the error shape", () => {
    const errorRef = { $ref: "#/components/schemas/Error" };
    for (const alias of Object.keys(API_ALIASES)) {
      const o = op(alias);
      const success = String(ROUTE_DOCS[alias].status);
      expect([alias, Object.keys(o.responses)]).toEqual([
        alias,
        expect.arrayContaining([success, "422", "429", "default"]),
      ]);
      if (success === "204") expect([alias, o.responses[success].content]).toEqual([alias, undefined]);
      else expect([alias, o.responses[success].content["application/json"].schema]).toBeTruthy();
      for (const [code, r] of Object.entries(o.responses as Doc))
        if (code === "default" || Number(code) >= 400)
          expect([alias, code, r.content["application/json"].schema]).toEqual([alias, code, errorRef]);
    }
  });

  it("should resolve every $ref of the document", () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of new Set(refs)) {
      const name = r.slice(8, -1).replace("#/components/schemas/", "");
      expect([r, doc.components.schemas[name]]).toEqual([r, expect.anything()]);
    }
  });

  it("should answer as documented: a 201 with its schema's fields, a 404 and a 422 in the error shape", async () => {
    const signup = await fetch(`${base}/api/user/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `oa-${Date.now()}@example.com`, password: "secret-pass", name: "Oa" }),
    });
    expect(signup.status).toBe(Number(Object.keys(op("POST /user/signup").responses)[0]));
    const session = (await signup.json()) as Doc;
    for (const k of ["user", "accessToken", "refreshToken", "expiresIn"]) expect(session).toHaveProperty(k);
    for (const k of doc.components.schemas.User.required) expect(session.user).toHaveProperty(k);

    const missing = await fetch(`${base}/api/products/nope`);
    expect(Object.keys(op("GET /products/:id").responses)).toContain(String(missing.status));
    const invalid = await fetch(`${base}/api/products?sort=bogus`);
    expect(invalid.status).toBe(422);
    for (const res of [(await missing.json()) as Doc, (await invalid.json()) as Doc])
      expect(Object.keys(res).sort()).toEqual(doc.components.schemas.Error.required.sort());
  });

  it("should serve /api/docs as HTML that loads only same-origin assets, each answering 200", async () => {
    const res = await fetch(`${base}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    expect(html).not.toMatch(/https?:\/\//);
    for (const ref of refs) {
      const url = new URL(ref, `${base}/api/docs`);
      expect([ref, url.origin]).toEqual([ref, base]);
      const asset = await fetch(url);
      expect([ref, asset.status]).toEqual([ref, 200]);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
      if (ref.endsWith(".js")) expect(asset.headers.get("content-type")).toMatch(/javascript/);
      if (ref.endsWith(".css")) expect(asset.headers.get("content-type")).toMatch(/^text\/css/);
    }
    const init = await (await fetch(`${base}${refs.find((r) => r.endsWith("init.js"))}`)).text();
    expect(init).toContain('"/api/openapi.json"');
    expect(init).toContain("validatorUrl: null");
  });

  it("should serve no other file from the docs assets route", async () => {
    for (const file of [
      "index.html",
      "swagger-ui-bundle.js.map",
      "package.json",
      "..%2F..%2Fpackage.json",
      "toString",
    ]) {
      const res = await fetch(`${base}/api/docs/assets/${file}`);
      expect([file, res.status]).toEqual([file, 404]);
      expect(await res.json()).toMatchObject({ code: 404, type: "NOT_FOUND" });
    }
  });
});
