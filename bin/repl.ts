/** The Moleculer REPL as its own node of the running cluster (settings from env or .infra.env). */
import os from "node:os";
import { ServiceBroker } from "moleculer";
import { ConfigError, config } from "../lib/config";
import { brokerOptions } from "../moleculer.config";
import { replCommands } from "./repl-commands";

async function main() {
  const cfg = config();
  const broker = new ServiceBroker(
    brokerOptions(cfg, {
      nodeID: `repl-${os.hostname()}-${process.pid}`,
      logger: { type: "Console", options: { level: "warn" } },
      replOptions: { customCommands: replCommands } as any,
    }),
  );
  await broker.start();
  await broker.repl();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
