/**
 * The GraphQL schema and server on their own (no broker): the generated types are current, the
 * limits count what they say, production refuses introspection, and an internal error leaves
 * with nothing of itself.
 */
import fs from "node:fs";
import { parse, buildSchema, type OperationDefinitionNode } from "graphql";
import { TYPES_FILE, typesFile } from "../../scripts/graphql-types";
import { typeDefs } from "../../services/api/graphql/schema";
import { LIMITS, aliasesOf, checkCost, depthOf, operationCost } from "../../services/api/graphql/limits";
import { createGraphQLServer } from "../../services/api/graphql/server";
import { resolvers, productListParams } from "../../services/api/graphql/resolvers";
import { toGraphQLError } from "../../services/api/graphql/errors";
import { catalogueKey } from "../../services/api/graphql/answer-cache";
import { Errors } from "moleculer";

const schema = buildSchema(typeDefs);
const fragmentsOf = (doc: ReturnType<typeof parse>) =>
  Object.fromEntries(
    doc.definitions.filter((d: any) => d.kind === "FragmentDefinition").map((d: any) => [d.name.value, d]),
  );
const op = (doc: ReturnType<typeof parse>) =>
  doc.definitions.find((d) => d.kind === "OperationDefinition") as OperationDefinitionNode;

describe("the GraphQL schema", () => {
  it("should match the committed types.generated.ts (run `npm run graphql:types` after a schema change)", async () => {
    expect(fs.readFileSync(TYPES_FILE, "utf8")).toBe(typesFile());
  });

  it("should have a resolver for every root field and no resolver for a field it lacks", () => {
    for (const [type, map] of [
      ["Query", resolvers.Query],
      ["Mutation", resolvers.Mutation],
    ] as const)
      expect(Object.keys(map).sort()).toEqual(Object.keys((schema.getType(type) as any).getFields()).sort());
  });

  it("should take option filters as REST's options map and drop explicit nulls", () => {
    expect(
      productListParams({
        filter: { q: "shirt", category: null, options: [{ name: "Size", value: "M" }] },
        page: 2,
        pageSize: null,
      }),
    ).toEqual({ q: "shirt", page: 2, options: { Size: "M" } });
  });
});

describe("the limits", () => {
  it.each([
    ["{ me { id } }", 2],
    ["{ cart { items { product { variants { stock { available } } } } } }", 6],
    ["fragment F on Variant { stock { available } } { cart { items { variant { ...F } } } }", 5],
    ["{ __schema { types { fields { type { ofType { ofType { name } } } } } } }", 7],
    ["{ a: me { id } ... on Query { cart { subtotal } } }", 2],
  ])("should count %s as %i levels deep", (query, depth) => {
    const doc = parse(query);
    expect(depthOf(op(doc).selectionSet, fragmentsOf(doc))).toBe(depth);
  });

  it.each([
    ["{ me { id } }", 0],
    ["{ a: me { id } b: me { x: id } }", 3],
    ["fragment F on User { n: name } { a: me { ...F } b: me { ...F } }", 4],
  ])("should count the aliases of %s as %i", (query, aliases) => {
    const doc = parse(query);
    expect(aliasesOf(op(doc).selectionSet, fragmentsOf(doc))).toBe(aliases);
  });

  it.each([
    // products: 1 + 20 × (rows: 1 + (id: 1)) = 41
    ["{ products { rows { id } } }", {}, 41],
    ["query($n: Int) { products(pageSize: $n) { rows { id } } }", { n: 5 }, 11],
    // pageSize over 100 is capped like REST: 1 + 100 × 2
    ["{ products(pageSize: 1000) { rows { id } } }", {}, 201],
    // a list that is no page costs 10 of its children: variants 1 + 10 × 1
    ['{ product(id: "x") { variants { id } } }', {}, 12],
    ["{ me { __typename id } }", {}, 2],
  ])("should cost %s with %j at %i", (query, variables, cost) => {
    expect(operationCost(schema, parse(query), undefined, variables)).toBe(cost);
  });

  it("should refuse an operation over the cost limit, naming its cost", () => {
    const fields = Array.from({ length: 700 }, (_, i) => `p${i}: products { rows { id } }`).join(" ");
    expect(checkCost(schema, parse(`{ ${fields} }`), undefined, {})?.extensions).toEqual({
      code: "COST_LIMIT",
      type: "COST_LIMIT",
      cost: 700 * 41,
      limit: LIMITS.cost,
    });
    expect(checkCost(schema, parse("{ products { rows { id } } }"), undefined, {})).toBeNull();
  });
});

describe("the GraphQL server", () => {
  const context = {
    gateway: {
      cached: async () => {
        throw new Error("connect ECONNREFUSED 10.0.0.7:27017 at Mongo.connect (/srv/app/lib/db.js:12:3)");
      },
    },
  };
  const post = (server: ReturnType<typeof createGraphQLServer>, query: string) =>
    Promise.resolve(
      server.fetch(
        "http://gateway/graphql",
        {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ query }),
        },
        context as any,
      ),
    ).then((r: Response) => r.json());
  const logged: unknown[] = [];

  it("should refuse introspection in production and answer it otherwise", async () => {
    const production = createGraphQLServer({ production: true, logError: () => undefined });
    const development = createGraphQLServer({ production: false, logError: () => undefined });
    const query = "{ __schema { queryType { name } } }";
    const refused: any = await post(production, query);
    expect(refused.data).toBeUndefined();
    expect(refused.errors[0].message).toMatch(/introspection/i);
    expect(await post(development, query)).toEqual({ data: { __schema: { queryType: { name: "Query" } } } });
  });

  it("should answer an internal error with its REST type and nothing of its message or stack", async () => {
    const server = createGraphQLServer({ production: true, logError: (err) => logged.push(err) });
    const res: any = await post(server, "{ products { total } }");
    expect(res.errors).toEqual([
      {
        message: "Internal server error",
        locations: expect.any(Array),
        path: ["products"],
        extensions: { code: "INTERNAL_SERVER_ERROR", type: "INTERNAL", status: 500 },
      },
    ]);
    expect(JSON.stringify(res)).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|db\.js/);
    expect(logged).toHaveLength(1);
  });

  it("should map REST errors to GraphQL codes, keeping the REST type", () => {
    const cases: Array<[Error, string, string]> = [
      [new Errors.MoleculerClientError("x", 401, "NO_TOKEN"), "UNAUTHENTICATED", "NO_TOKEN"],
      [new Errors.MoleculerClientError("x", 403, "FORBIDDEN"), "FORBIDDEN", "FORBIDDEN"],
      [new Errors.MoleculerClientError("x", 404, "NOT_FOUND"), "NOT_FOUND", "NOT_FOUND"],
      [
        new Errors.ValidationError("x", "VALIDATION_ERROR", [{ field: "q", type: "string" }]),
        "BAD_USER_INPUT",
        "VALIDATION_ERROR",
      ],
      [
        new Errors.MoleculerClientError("x", 409, "INSUFFICIENT_STOCK"),
        "INSUFFICIENT_STOCK",
        "INSUFFICIENT_STOCK",
      ],
      [
        new Errors.MoleculerClientError("x", 409, "PROMOTION_EXHAUSTED"),
        "PROMOTION_EXHAUSTED",
        "PROMOTION_EXHAUSTED",
      ],
      [new Error("boom at /srv/x.js"), "INTERNAL", "INTERNAL"],
    ];
    for (const [err, code, type] of cases)
      expect(toGraphQLError(err).extensions).toMatchObject({ code, type });
    const invalid = toGraphQLError(
      new Errors.ValidationError("x", "VALIDATION_ERROR", [{ field: "q", type: "string", actual: "secret" }]),
    );
    expect(invalid.extensions.fields).toEqual([{ field: "q", type: "string", message: undefined }]);
    expect(toGraphQLError(new Error("boom at /srv/x.js")).message).toBe("Internal server error");
  });

  it("should cache only queries whose every root field is catalogue data", () => {
    expect(catalogueKey({ query: "{ products { total } facets { price { min } } }" }, undefined)).toMatch(
      /^products\.gw\.gql:/,
    );
    expect(catalogueKey({ query: "{ products { total } me { id } }" }, undefined)).toBeNull();
    expect(catalogueKey({ query: "{ cart { subtotal } }" }, undefined)).toBeNull();
    expect(
      catalogueKey(
        { query: 'mutation { login(input: {email: "a", password: "b"}) { accessToken } }' },
        undefined,
      ),
    ).toBeNull();
    expect(catalogueKey({ query: "{ ...F } fragment F on Query { me { id } }" }, undefined)).toBeNull();
    expect(catalogueKey({ query: "{ products" }, undefined)).toBeNull();
    const a = catalogueKey({ query: "{ products { total } }", variables: { a: 1 } }, undefined);
    expect(a).not.toBe(catalogueKey({ query: "{ products { total } }", variables: { a: 2 } }, undefined));
  });
});
