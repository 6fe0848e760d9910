/** Operator commands added to the Moleculer REPL. */
import type { ServiceBroker } from "moleculer";

export const replCommands = [
  {
    command: "bridge",
    description: "Kafka bridge: connection state, records produced, backlog, last error (every bridge node)",
    async action(broker: ServiceBroker) {
      const nodes = (broker.registry.getServiceList({ onlyAvailable: true }) as any[])
        .filter((s) => s.name === "kafka-bridge")
        .map((s) => s.nodeID as string);
      if (!nodes.length) return console.log("No kafka-bridge node is running.");
      for (const nodeID of nodes) {
        const s: any = await broker
          .call("kafka-bridge.status", {}, { nodeID, timeout: 5000 })
          .catch((e) => ({ error: e.message }));
        console.log(
          `${nodeID}: ${s.error ? `unreachable (${s.error})` : !s.enabled ? "idle (KAFKA_BROKERS not set)" : s.connected ? "connected" : "DISCONNECTED"}` +
            (s.error || !s.enabled
              ? ""
              : `, produced ${s.produced}, failed attempts ${s.failed}, backlog ${s.backlog ?? "?"}`) +
            (s.lastError ? `, last error: ${s.lastError}` : ""),
        );
      }
    },
  },
];
