/** A Moleculer node inside the test process that joins a cluster to look at it (metrics, registry). */
import { ServiceBroker } from "moleculer";
import { waitFor, type Cluster } from "./cluster";

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

/**
 * Waits until the observer sees `count` available nodes of each service; on a timeout, says what
 * it saw and which nodes exited, with their last lines (a node that failed to start says why).
 */
export async function waitForServices(
  obs: ServiceBroker,
  cluster: Cluster,
  counts: Record<string, number>,
  timeoutMs = 30_000,
): Promise<void> {
  const up = (name: string) =>
    obs.registry.getServiceList({ onlyAvailable: true }).filter((s: any) => s.name === name).length;
  const what = Object.entries(counts)
    .map(([name, n]) => `${n} × ${name}`)
    .join(", ");
  await waitFor(
    what,
    async () => Object.entries(counts).every(([name, n]) => up(name) === n),
    timeoutMs,
  ).catch((err) => {
    const seen = Object.keys(counts)
      .map((name) => `${name}: ${up(name)}`)
      .join(", ");
    const exited = cluster.nodes
      .filter((n) => !n.running)
      .map(
        (n) => `${n.nodeID} exited (${n.proc?.exitCode ?? n.proc?.signalCode}):\n${n.output.slice(-2000)}`,
      );
    throw new Error(`${err.message}; seen ${seen}\n${exited.join("\n") || "no node exited"}`);
  });
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
