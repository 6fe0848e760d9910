/**
 * The "server side" of bench/transport.ts, spawned by it as a separate process. Two roles:
 *
 *   node dist/bench/echo-node.js echo   a broker on NATS with the `echo` service, plus a raw nats.js
 *                                       responder that echoes the request bytes back;
 *   node dist/bench/echo-node.js web    a raw node:http hello server, a moleculer-web gateway calling
 *                                       a local action (broker without transporter) and a
 *                                       moleculer-web gateway calling `echo.hello` on the echo node
 *                                       over NATS.
 *
 * Settings come from the environment: TRANSPORTER, NAMESPACE, BENCH_RAW_SUBJECT (echo);
 * TRANSPORTER, NAMESPACE, BENCH_PORTS=raw,local,remote[,variant] (web: with a fourth port, one more
 * local gateway whose broker has the BENCH_VARIANT options). BENCH_BROKER and BENCH_OVERRIDES
 * select the broker options (see benchBrokerOptions). The process reports readiness with an IPC
 * message and exits when its parent goes away.
 */
import http from "node:http";
import { ServiceBroker, type BrokerOptions, type Context, type ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { connect, type NatsConnection } from "nats";
import { loadConfig } from "../lib/config";
import { brokerOptions } from "../moleculer.config";

/** The body every hello endpoint answers, raw or through Moleculer. */
export const HELLO = { hello: "world" };

/**
 * Broker options for every broker of the bench.
 *   BENCH_BROKER=project (default): the project's brokerOptions(loadConfig(...)), log level warn;
 *   BENCH_BROKER=plain: bare Moleculer defaults (no metrics, no channels, no circuit breaker, ...).
 *   BENCH_OVERRIDES='{"metrics":{"enabled":false}}': a JSON object merged over the top-level keys.
 *   BENCH_VARIANT (same format) is merged on top for the brokers of the A/B "variant" rows only.
 *   METRICS=off|basic|full: the project's metrics setting (lib/config.ts), default basic.
 */
export function benchBrokerOptions(
  nodeID: string,
  namespace: string,
  transporter?: string,
  variant = false,
): BrokerOptions {
  const overrides: Partial<BrokerOptions> = {
    ...JSON.parse(process.env.BENCH_OVERRIDES || "{}"),
    ...(variant ? JSON.parse(process.env.BENCH_VARIANT || "{}") : {}),
  };
  if (process.env.BENCH_BROKER === "plain")
    return {
      nodeID,
      namespace,
      transporter: transporter ? { type: "NATS", options: { url: transporter } } : undefined,
      logger: { type: "Console", options: { level: "warn" } },
      skipProcessEventRegistration: true,
      ...overrides,
    };
  const cfg = loadConfig({
    NODE_ENV: "development",
    LOG_LEVEL: "warn",
    NODE_ID: nodeID,
    NAMESPACE: namespace,
    TRANSPORTER: transporter,
    METRICS: process.env.METRICS,
  });
  // The bench stops its brokers itself: Moleculer's own SIGTERM handler would stop them a second
  // time (the channels adapter then logs a CONNECTION_DRAINING error).
  return { ...brokerOptions(cfg, overrides), skipProcessEventRegistration: true };
}

/** The trivial service under test. */
export const EchoService: ServiceSchema = {
  name: "echo",
  actions: {
    echo(ctx: Context) {
      return ctx.params;
    },
    hello() {
      return HELLO;
    },
  },
};

/**
 * A minimal gateway: one alias `GET /hello`, no body parsing, no per-request logging. With
 * BENCH_WEB_LOGGING=1 the route logs like moleculer-web's defaults (for comparison only).
 */
export function helloGateway(port: number, action: string): ServiceSchema {
  const logging = process.env.BENCH_WEB_LOGGING === "1";
  return {
    name: "api",
    mixins: [ApiGateway],
    settings: <any>{
      port,
      ip: "127.0.0.1",
      logRequest: logging ? "info" : null,
      logResponse: logging ? "info" : null,
      routes: [
        {
          path: "/",
          mappingPolicy: "restrict",
          bodyParsers: false,
          logging,
          aliases: { "GET /hello": action },
        },
      ],
    },
  };
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set`);
  return v;
}

async function startEcho(stops: Array<() => Promise<unknown>>) {
  const transporter = env("TRANSPORTER");
  const namespace = env("NAMESPACE");

  const broker = new ServiceBroker(benchBrokerOptions(`${namespace}-echo`, namespace, transporter));
  broker.createService(EchoService);
  stops.push(() => broker.stop());
  await broker.start();

  const nc: NatsConnection = await connect({ servers: new URL(transporter).host });
  stops.push(() => nc.drain());
  nc.subscribe(env("BENCH_RAW_SUBJECT"), { callback: (_err, msg) => msg.respond(msg.data) });
  await nc.flush();
}

async function startWeb(stops: Array<() => Promise<unknown>>) {
  const transporter = env("TRANSPORTER");
  const namespace = env("NAMESPACE");
  const [rawPort, localPort, remotePort, variantPort] = env("BENCH_PORTS").split(",").map(Number);

  const body = JSON.stringify(HELLO);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
    res.end(body);
  });
  stops.push(() => new Promise((resolve) => server.close(resolve)));
  await new Promise<void>((resolve) => server.listen(rawPort, "127.0.0.1", resolve));

  const local = new ServiceBroker(benchBrokerOptions(`${namespace}-web-local`, namespace));
  local.createService(EchoService);
  local.createService(helloGateway(localPort, "echo.hello"));
  stops.push(() => local.stop());
  await local.start();

  const remote = new ServiceBroker(benchBrokerOptions(`${namespace}-web-remote`, namespace, transporter));
  remote.createService(helloGateway(remotePort, "echo.hello"));
  stops.push(() => remote.stop());
  await remote.start();
  await remote.waitForServices(["echo"], 20_000);

  if (variantPort) {
    const variant = new ServiceBroker(
      benchBrokerOptions(`${namespace}-web-variant`, namespace, undefined, true),
    );
    variant.createService(EchoService);
    variant.createService(helloGateway(variantPort, "echo.hello"));
    stops.push(() => variant.stop());
    await variant.start();
  }
}

function main() {
  const role = process.argv[2];
  const stops: Array<() => Promise<unknown>> = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(code), 3000).unref();
    for (const s of stops.reverse()) await s().catch(() => undefined);
    process.exit(code);
  };
  process.on("SIGTERM", () => void stop(0));
  process.on("SIGINT", () => void stop(0));
  // The parent (bench/transport.ts) is gone: nothing left to serve.
  process.on("disconnect", () => void stop(0));

  const start = role === "echo" ? startEcho : role === "web" ? startWeb : undefined;
  if (!start) {
    console.error(`usage: echo-node.js echo|web (got "${role ?? ""}")`);
    process.exit(2);
  }
  start(stops).then(
    () => process.send?.({ ready: role, pid: process.pid }),
    (err) => {
      console.error(`echo-node (${role}) failed to start:`, err);
      void stop(1);
    },
  );
}

if (require.main === module) main();
