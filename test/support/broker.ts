/** A Moleculer node inside the test process that joins a cluster to look at it (metrics, registry). */
import { ServiceBroker } from "moleculer";
import type { Cluster } from "./cluster";

export async function observer(cluster: Cluster): Promise<ServiceBroker> {
  const broker = new ServiceBroker({
    namespace: cluster.namespace,
    nodeID: `${cluster.namespace}-observer`,
    transporter: cluster.infra.TRANSPORTER as any,
    logger: false,
    heartbeatInterval: 2,
    heartbeatTimeout: 6,
  });
  await broker.start();
  return broker;
}

/** How many times `action` ran on the node, from that node's own metrics. */
export async function callsServed(broker: ServiceBroker, nodeID: string, action: string): Promise<number> {
  const metrics: any[] = await broker.call(
    "$node.metrics",
    { includes: ["moleculer.request.total"] },
    { nodeID, timeout: 3000 },
  );
  const m = metrics.find((x) => x.name === "moleculer.request.total");
  return (m?.values ?? [])
    .filter((v: any) => v.labels.action === action)
    .reduce((n: number, v: any) => n + v.value, 0);
}

/** A full cluster member in the test process (channels included), e.g. to publish events. */
export async function member(cluster: Cluster, schemas: any[] = []): Promise<ServiceBroker> {
  const env = {
    ...cluster.env([]),
    NODE_ID: `${cluster.namespace}-member-${process.pid}`,
    LOG_LEVEL: "warn",
  };
  const { loadConfig } = await import("../../lib/config");
  const { brokerOptions } = await import("../../moleculer.config");
  const broker = new ServiceBroker({ ...brokerOptions(loadConfig(env)), logger: false });
  for (const s of schemas) broker.createService(s);
  await broker.start();
  return broker;
}
