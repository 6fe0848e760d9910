/**
 * Starts one Moleculer node running the services named in SERVICES (default: all of them, in one
 * process: the embedded default). Any number of such nodes over NATS form the cluster.
 */
import path from "node:path";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { ConfigError, config } from "../lib/config";
import { brokerOptions } from "../moleculer.config";

export function loadService(name: string): ServiceSchema {
  const mod = require(path.join(__dirname, "..", "services", `${name}.service`));
  return mod.default ?? mod;
}

export async function startNode(): Promise<ServiceBroker> {
  const cfg = config();
  const broker = new ServiceBroker(brokerOptions(cfg));
  for (const name of cfg.services) broker.createService(loadService(name));
  await broker.start();
  return broker;
}

function main() {
  let broker: ServiceBroker | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    broker?.logger.info(`${signal} received, stopping the node...`);
    try {
      await broker?.stop();
      process.exit(0);
    } catch {
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
    (b) => (broker = b),
    (err) => {
      console.error("The node failed to start:", err);
      process.exit(1);
    },
  );
}

if (require.main === module) main();
