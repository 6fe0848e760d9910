import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Context, ServiceBroker } from "moleculer";
import { Events, type EventEnvelope } from "../../contracts";
import { publish } from "../../lib/channels";
import { ALL_SERVICES } from "../../lib/config";
import {
  Cluster,
  NODE_BIN,
  ROOT,
  describeE2E,
  infraCtl,
  sleep,
  waitFor,
  type NodeProcess,
} from "../support/cluster";
import { callsServed, member, observer } from "../support/broker";
import { jsonClient } from "../support/http";
import { Mailpit } from "../support/mailpit";

const ROUTE = "/api/.well-known/jwks.json";
const ACTION = "tokens.jwks";

describeE2E("a cluster of node processes over real NATS", () => {
  let cluster: Cluster;
  let a: NodeProcess;
  let b: NodeProcess;
  let obs: ServiceBroker;

  const get = () => fetch(`${cluster.baseUrl}${ROUTE}`, { signal: AbortSignal.timeout(30_000) });

  beforeAll(async () => {
    // Hundreds of requests from one client: lift the per-client limit, not under test here.
    // METRICS: each node's own request counters tell which instance served a call.
    cluster = new Cluster({ RATE_LIMIT_PER_MINUTE: "10000000", METRICS: "1" });
    await cluster.add("gateway", ["api"]);
    a = await cluster.add("a", ["tokens"]);
    b = await cluster.add("b", ["tokens"]);
    // The gateway is ready only when every service it routes to is up: run the others once.
    await cluster.add(
      "rest",
      ALL_SERVICES.filter((s) => s !== "api" && s !== "tokens"),
    );
    await cluster.waitReady();
    obs = await observer(cluster);
    await waitFor("both instances to be discovered", async () => {
      const nodes = obs.registry
        .getServiceList({ onlyAvailable: true })
        .filter((s: any) => s.name === "tokens");
      return nodes.length === 2;
    });
  });

  afterAll(async () => {
    await obs?.stop();
    await cluster?.stopAll();
  });

  it("should spread gateway calls over both instances of a service", async () => {
    for (let i = 0; i < 40; i++) expect((await get()).status).toBe(200);
    expect(await callsServed(obs, a.nodeID, ACTION)).toBeGreaterThan(0);
    expect(await callsServed(obs, b.nodeID, ACTION)).toBeGreaterThan(0);
  });

  it("should fail none of the next 200 requests when one instance is SIGKILLed, and use it again once restarted", async () => {
    await b.stop("SIGKILL");
    const statuses: number[] = [];
    const worker = async (n: number) => {
      for (let i = 0; i < n; i++)
        statuses.push(
          await get().then(
            (r) => r.status,
            () => 0,
          ),
        );
    };
    await Promise.all(Array.from({ length: 10 }, () => worker(20)));
    expect(statuses).toHaveLength(200);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    b.start();
    await waitFor(
      "the restarted instance to serve gateway calls",
      async () => {
        for (let i = 0; i < 10; i++) expect((await get()).status).toBe(200);
        return (await callsServed(obs, b.nodeID, ACTION)) > 0;
      },
      30_000,
      500,
    );
  }, 120_000);

  it("should answer again within 10 s after the NATS server restarts", async () => {
    await infraCtl("down", "nats");
    await sleep(2000);
    await infraCtl("up", "nats");
    const back = Date.now();
    await waitFor(
      "a remote call through the gateway after the NATS restart",
      async () => (await get()).status === 200,
      10_000,
      250,
    );
    // Both service nodes are back in the gateway's registry, not only one.
    await waitFor("both instances to be rediscovered", async () => {
      const before = [await callsServed(obs, a.nodeID, ACTION), await callsServed(obs, b.nodeID, ACTION)];
      for (let i = 0; i < 10; i++) await get();
      const after = [await callsServed(obs, a.nodeID, ACTION), await callsServed(obs, b.nodeID, ACTION)];
      return after[0] > before[0] && after[1] > before[1];
    });
    expect(Date.now() - back).toBeLessThan(30_000);
  }, 60_000);

  it("should list every node in the REPL's `nodes` command", async () => {
    const repl = spawn(NODE_BIN, [path.join(ROOT, "dist", "bin", "repl.js")], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...cluster.env([]) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    repl.stdout.on("data", (d) => (out += d));
    repl.stderr.on("data", (d) => (out += d));
    try {
      const ids = cluster.nodes.filter((n) => n.running).map((n) => n.nodeID);
      await waitFor(
        "`nodes` to list every node",
        async () => {
          out = "";
          repl.stdin.write("nodes\n");
          await sleep(700);
          return ids.every((id) => out.includes(id));
        },
        20_000,
        300,
      );
    } finally {
      repl.kill("SIGKILL");
    }
  });
});

describeE2E("a consumer group that joins after its events were published", () => {
  // No node processes: members in the test process share the namespace's JetStream streams.
  const cluster = new Cluster();
  const group = `late-${randomUUID().slice(0, 8)}`;
  const received: string[] = [];
  const lateReader = {
    name: "late-reader",
    channels: {
      [Events.userRegistered]: {
        group,
        handler(ctx: Context<EventEnvelope>) {
          received.push(ctx.params.eventId);
        },
      },
    },
  };
  const registered = () =>
    Array.from({ length: 5 }, () => {
      const id = randomUUID();
      return {
        eventId: randomUUID(),
        type: Events.userRegistered,
        version: 1,
        occurredAt: new Date().toISOString(),
        key: id,
        data: { userId: id, email: `${id}@shop.test`, name: "Late" },
      } as EventEnvelope;
    });
  const earlier = registered();

  beforeAll(async () => {
    // Published the way the users service's outbox does, before the group ever subscribed.
    const pub = await member(cluster);
    for (const evt of earlier) await publish(pub, evt.type, evt, { "event-id": evt.eventId }, evt.eventId);
    await pub.stop();
  }, 60_000);

  it("should receive every event its stream held before the group first subscribed", async () => {
    const reader = await member(cluster, [lateReader]);
    try {
      await waitFor(
        "the late group to receive the earlier events",
        async () => earlier.every((e) => received.includes(e.eventId)),
        20_000,
      );
    } finally {
      await reader.stop();
    }
    expect(received).toEqual(earlier.map((e) => e.eventId));
  }, 60_000);

  it("should resume where it was after a restart, without the events it already acknowledged", async () => {
    received.length = 0;
    const reader = await member(cluster, [lateReader]);
    try {
      const [marker] = registered();
      await publish(reader, marker.type, marker, { "event-id": marker.eventId }, marker.eventId);
      await waitFor("the event published after the restart", async () => received.includes(marker.eventId));
      expect(received).toEqual([marker.eventId]);
    } finally {
      await reader.stop();
    }
  }, 60_000);

  it("should keep the position of a durable created with the old policy, neither failing nor replaying it", async () => {
    const upgraded = `${group}-upgraded`;
    const got: string[] = [];
    const reader = (policy?: "new") => ({
      name: "upgraded-reader",
      channels: {
        [Events.userRegistered]: {
          group: upgraded,
          ...(policy ? { nats: { consumerOptions: { config: { deliver_policy: policy } } } } : {}),
          handler(ctx: Context<EventEnvelope>) {
            got.push(ctx.params.eventId);
          },
        },
      },
    });
    const [seen, later] = registered();
    // The group as the code before deliver_policy "all" created it, and one event it acknowledged.
    const before = await member(cluster, [reader("new")]);
    try {
      await publish(before, seen.type, seen, { "event-id": seen.eventId }, seen.eventId);
      await waitFor("the old durable to take an event", async () => got.includes(seen.eventId));
    } finally {
      await before.stop();
    }
    got.length = 0;
    const after = await member(cluster, [reader()]);
    try {
      await publish(after, later.type, later, { "event-id": later.eventId }, later.eventId);
      await waitFor("the event published after the upgrade", async () => got.includes(later.eventId));
      expect(got).toEqual([later.eventId]);
    } finally {
      await after.stop();
    }
  }, 60_000);
});

describeE2E("a notifications node started after users signed up", () => {
  const cluster = new Cluster({ AUTH_RATE_LIMIT_PER_MINUTE: "100000", RATE_LIMIT_PER_MINUTE: "1000000" });
  const http = jsonClient(() => cluster.baseUrl, 30_000);
  let mail: Mailpit;
  let notifier: NodeProcess;
  const signup = async (tag: string) => {
    const email = `late-${tag}-${randomUUID().slice(0, 8)}-${cluster.namespace}@shop.test`;
    const res = await http("POST", "/api/user/signup", { email, password: "buyer-password", name: "Late" });
    return res.status === 201 ? email : undefined;
  };
  const welcomes = async (email: string) =>
    (await mail.to(email)).filter((m) => m.Subject.includes("Welcome"));

  beforeAll(async () => {
    mail = new Mailpit(cluster.infra.MAILPIT_URL);
    await cluster.add("gateway", ["api"]);
    await cluster.add(
      "rest",
      ALL_SERVICES.filter((s) => s !== "api" && s !== "notifications"),
    );
  }, 60_000);
  afterAll(() => cluster.stopAll());

  it("should send the welcome emails of the users who signed up before it existed, once each", async () => {
    // No notifications node anywhere yet: the signups' events wait in their stream.
    const early = [await waitFor("the first signup", () => signup("a"), 60_000, 500)];
    for (const tag of ["b", "c"]) early.push((await signup(tag))!);
    expect(early.every(Boolean)).toBe(true);
    notifier = await cluster.add("notify", ["notifications"]);
    for (const email of early)
      await waitFor(
        `the welcome email to ${email}`,
        async () => (await welcomes(email)).length === 1,
        30_000,
        500,
      );

    // Restarted, it resumes after what it already handled: one new email, none of the earlier again.
    await notifier.stop();
    notifier.start();
    const later = (await signup("d"))!;
    await waitFor(
      "the welcome email after the restart",
      async () => (await welcomes(later)).length === 1,
      30_000,
      500,
    );
    for (const email of early) expect(await welcomes(email)).toHaveLength(1);
  }, 180_000);
});
