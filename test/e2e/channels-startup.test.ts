/**
 * Nodes of one consumer group starting at the same moment (a deploy, a scale-out, a test
 * cluster): each must join the group's durable JetStream consumer, not fail to start because
 * another node created it a moment earlier. Over the real NATS of `infra:up`.
 */
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";
import { Cluster, describeE2E, waitFor } from "../support/cluster";

const ROUNDS = 4;

describeE2E("channels: two nodes of one group starting together over NATS JetStream", () => {
  const brokers: ServiceBroker[] = [];
  afterAll(async () => {
    await Promise.allSettled(brokers.map((b) => b.stop()));
  });

  it("should start both nodes every time and deliver a message of the group once", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const cluster = new Cluster();
      const handled: string[] = [];
      const node = (n: number) => {
        const env = { ...cluster.env([]), NODE_ID: `${cluster.namespace}-n${n}`, LOG_LEVEL: "fatal" };
        const broker = new ServiceBroker({ ...brokerOptions(loadConfig(env)), logger: false });
        broker.createService({
          name: "startup-probe",
          channels: {
            "probe.events": { group: "probe", handler: async () => void handled.push(broker.nodeID) },
          },
        } as any);
        brokers.push(broker);
        return broker;
      };
      const pair = [node(1), node(2)];
      // Both look the durable up before either creates it.
      const started = await Promise.allSettled(pair.map((b) => b.start()));
      expect(started.map((s) => (s.status === "rejected" ? String(s.reason) : "started"))).toEqual([
        "started",
        "started",
      ]);
      await (pair[0] as any).sendToChannel("probe.events", { round });
      await waitFor("the probe message to be handled", async () => handled.length > 0, 10_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(handled).toHaveLength(1);
      await Promise.all(pair.map((b) => b.stop()));
    }
  });
});
