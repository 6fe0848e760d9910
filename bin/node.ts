/**
 * Starts one Moleculer node running the services named in SERVICES (default: all of them, in one
 * process: the embedded default). Any number of such nodes over NATS form the cluster.
 */
import http from "node:http";
import path from "node:path";
import { ServiceBroker, type Middleware, type ServiceSchema } from "moleculer";
import { ConfigError, config } from "../lib/config";
import { announceBackend } from "../lib/running-backend";
import { brokerOptions } from "../moleculer.config";

/** Hard limit on a graceful stop, inside the 10 s an orchestrator allows before SIGKILL. */
const STOP_TIMEOUT_MS = 9_000;

export function loadService(name: string): ServiceSchema {
  const mod = require(path.join(__dirname, "..", "services", `${name}.service`));
  return mod.default ?? mod;
}

/** The test-only fault middleware, when FAULT_CRASH_AFTER asks for it (config allows it only in tests). */
function faultMiddlewares(action: string | undefined): Middleware[] {
  if (!action) return [];
  const { FaultMiddleware } = require(path.join(__dirname, "..", "test", "support", "fault-middleware"));
  return [FaultMiddleware(action)];
}

export async function startNode(): Promise<ServiceBroker> {
  const cfg = config();
  const options = brokerOptions(cfg);
  options.middlewares = [...(options.middlewares ?? []), ...faultMiddlewares(cfg.faultCrashAfter)];
  const broker = new ServiceBroker(options);
  for (const name of cfg.services) broker.createService(loadService(name));
  await broker.start();
  return broker;
}

/** Embedded, this process owns DATA_DIR's files: tools started beside it go through its API. */
function announce(broker: ServiceBroker): void {
  const cfg = config();
  if (cfg.transporter) return;
  const api = broker.getLocalService("api") as any;
  const address = api?.server?.address();
  process.once("exit", announceBackend(cfg.dataDir, address?.port ?? null));
}

/**
 * Stops taking HTTP work (the gateway): no new connections, `Connection: close` on any further
 * request on an open keep-alive connection, and each connection closed as soon as its response is
 * done, so keep-alive clients can't hold the server open. Resolves once every server has closed.
 */
export function stopListening(broker: ServiceBroker): Promise<void> {
  const servers = broker.services
    .map((svc: any) => svc.server)
    .filter((s): s is http.Server => s instanceof http.Server && s.listening);
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.on("request", (_req, res: http.ServerResponse) => {
            if (!res.headersSent) res.setHeader("connection", "close");
          });
          const idle = setInterval(() => server.closeIdleConnections(), 100);
          server.close(() => {
            clearInterval(idle);
            resolve();
          });
        }),
    ),
  ).then(() => undefined);
}

function main() {
  let broker: ServiceBroker | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const log = broker?.logger ?? console;
    log.info(`${signal} received, stopping the node...`);
    // Orchestrators kill after 10 s: a stop that hangs ends here, non-zero, saying so.
    setTimeout(() => {
      log.error(`The node did not stop within ${STOP_TIMEOUT_MS} ms after ${signal}; exiting with code 1.`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    try {
      // The gateway stops accepting first; its requests in flight go on.
      const closed = broker ? stopListening(broker) : Promise.resolve();
      // Leaves the registry at once (empty INFO), waits for in-flight contexts (tracking), lets
      // channels finish their active messages and the Kafka bridge flush, then disconnects.
      await broker?.stop();
      await closed;
      process.exit(0);
    } catch (err) {
      log.error("The node failed to stop:", err);
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  try {
    config();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  startNode().then(
    (b) => {
      broker = b;
      announce(b);
    },
    (err) => {
      console.error("The node failed to start:", err);
      process.exit(1);
    },
  );
}

if (require.main === module) main();
