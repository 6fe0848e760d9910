/**
 * GraphiQL at GET /graphql (not in production), served entirely by the gateway. Yoga's built-in
 * page loads GraphiQL from a CDN (unpkg); @graphql-yoga/render-graphiql ships the same build
 * inline, and its pieces (script, stylesheet, Monaco's three workers) are served here as files
 * under /graphql/assets/, so the page runs under a Content-Security-Policy of 'self' only: no
 * inline script, no CDN, workers from the same origin.
 *
 * GraphiQL loads the schema with the standard introspection query, which is 14 fields deep: the
 * server refuses it (depth ≤ 10, introspection counted). init.js answers that one request from
 * /graphql/assets/introspection.json, the same schema's introspection made here, in development
 * only; every other operation goes to POST /graphql as typed.
 */
import { introspectionFromSchema } from "graphql";
import { schema } from "./server";

export const GRAPHIQL_ASSETS_PATH = "/graphql/assets";

/**
 * Only self: no other origin in any directive; data: for the fonts and icons GraphiQL's stylesheet
 * embeds. Styles also allow 'unsafe-inline': Monaco sets computed style attributes (widths,
 * offsets) as it lays out the editor, which no hash can list. Scripts stay 'self' only.
 */
export const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const INIT_JS = `(function () {
  var assets = ${JSON.stringify(GRAPHIQL_ASSETS_PATH)};
  var workers = { editorWorkerService: "editor.worker.js", json: "json.worker.js", graphql: "graphql.worker.js" };
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) { return assets + "/" + (workers[label] || workers.editorWorkerService); },
  };
  var send = window.fetch.bind(window);
  window.fetch = function (input, init) {
    try {
      var body = init && typeof init.body === "string" ? JSON.parse(init.body) : null;
      if (body && body.operationName === "IntrospectionQuery") return send(assets + "/introspection.json");
    } catch (e) {}
    return send(input, init);
  };
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById("root"), {
    title: "Moleculer shop GraphQL",
    endpoint: "/graphql",
    defaultQuery: "{\\n  products(pageSize: 3) {\\n    total\\n    rows { id name price currency available }\\n  }\\n}\\n",
  });
})();
`;

interface Asset {
  type: string;
  body: () => string | Buffer;
}

let bundle: Record<string, string> | undefined;
const part = (key: string) => () => (bundle ??= require("@graphql-yoga/render-graphiql/graphiql"))[key];
const JS = "application/javascript; charset=utf-8";

const ASSETS: Record<string, Asset> = {
  "graphiql.js": { type: JS, body: part("js") },
  "graphiql.css": { type: "text/css; charset=utf-8", body: part("css") },
  "editor.worker.js": { type: JS, body: part("editorWorkerService") },
  "json.worker.js": { type: JS, body: part("jsonWorker") },
  "graphql.worker.js": { type: JS, body: part("graphqlWorker") },
  "init.js": { type: JS, body: () => INIT_JS },
  "favicon.ico": {
    type: "image/x-icon",
    body: () => Buffer.from(part("favicon")().replace(/^data:[^,]*;base64,/, ""), "base64"),
  },
  "introspection.json": {
    type: "application/json; charset=utf-8",
    body: () => JSON.stringify({ data: introspectionFromSchema(schema) }),
  },
};

const cache = new Map<string, Buffer>();

/** An asset and its content type, or null for any file not listed. */
export function graphiqlAsset(file: string): { body: Buffer; type: string } | null {
  if (!Object.hasOwn(ASSETS, file)) return null;
  let body = cache.get(file);
  if (!body) cache.set(file, (body = Buffer.from(ASSETS[file].body())));
  return { body, type: ASSETS[file].type };
}

export function graphiqlPage(): string {
  const a = (file: string) => `${GRAPHIQL_ASSETS_PATH}/${file}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Moleculer shop GraphQL</title>
<link rel="icon" href="${a("favicon.ico")}">
<link rel="stylesheet" href="${a("graphiql.css")}">
</head>
<body>
<div id="root"></div>
<script src="${a("graphiql.js")}"></script>
<script src="${a("init.js")}"></script>
</body>
</html>
`;
}
