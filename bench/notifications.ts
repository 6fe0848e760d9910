/**
 * Emails per second into Mailpit from a backlog of 1,000 events, and the time to drain it.
 *   npm run infra:up && npm run bench:notifications
 * Starts a node with users and notifications in its own namespace, builds the backlog in
 * JetStream while the notifications node is stopped, restarts it and times the drain.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import type { EventEnvelope } from "../contracts";
import { publish } from "../lib/channels";
import { loadConfig } from "../lib/config";
import { brokerOptions } from "../moleculer.config";

const N = Number(process.argv[2] ?? 1000);
const ns = `benchn${randomUUID().slice(0, 6)}`;
const children: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function node(services: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [path.join(__dirname, "..", "bin", "node.js")], {
    env: {
      ...process.env,
      ...env,
      SERVICES: services,
      NAMESPACE: ns,
      LOG_LEVEL: "warn",
      NODE_ID: `${ns}-${services}`,
    },
    stdio: "inherit",
  });
  children.push(child);
  return child;
}

async function mailCount(mailpit: string, to: string): Promise<number> {
  const res = await fetch(`${mailpit}/api/v1/search?limit=1&query=${encodeURIComponent(`to:"${to}"`)}`);
  return ((await res.json()) as any).messages_count ?? 0;
}

async function main() {
  for (const k of ["TRANSPORTER", "MONGO_URI", "SMTP_URL", "MAILPIT_URL"])
    if (!process.env[k])
      throw new Error(`${k} is not set: run \`npm run infra:up\` (the script reads .infra.env)`);
  const env = {
    MONGO_URI: process.env.MONGO_URI!.replace(/\/[^/]*$/, `/${ns}`),
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
  };
  const broker = new ServiceBroker({
    ...brokerOptions(loadConfig({ ...process.env, ...env, NAMESPACE: ns, NODE_ID: `${ns}-bench` })),
    logger: false,
  });
  await broker.start();
  try {
    node("users,tokens", env);
    let notifier = node("notifications", env);
    await broker.waitForServices(["users", "tokens", "notifications"], 60_000);
    const email = `bench-${randomUUID().slice(0, 8)}@example.com`;
    const { user }: any = await broker.call("users.signup", {
      email,
      password: "bench password 1",
      name: "Bench",
    });
    while ((await mailCount(process.env.MAILPIT_URL!, email)) < 1) await sleep(100); // the welcome email
    notifier.kill("SIGTERM");
    await new Promise((r) => notifier.once("exit", r));

    for (let i = 0; i < N; i++) {
      const orderId = randomUUID();
      const evt: EventEnvelope<"order.placed"> = {
        eventId: randomUUID(),
        type: "order.placed",
        version: 1,
        occurredAt: new Date().toISOString(),
        key: orderId,
        data: {
          orderId,
          userId: user.id,
          currency: "USD",
          total: 1299,
          items: [
            {
              productId: "p",
              variantId: "p",
              sku: "MUG",
              name: "Mug",
              variantTitle: "Default",
              unitPrice: 1299,
              quantity: 1,
              lineTotal: 1299,
            },
          ],
        },
      };
      await publish(broker, evt.type, evt);
    }

    notifier = node("notifications", env);
    const started = Date.now();
    let sent = 0;
    while ((sent = (await mailCount(process.env.MAILPIT_URL!, email)) - 1) < N) {
      if (Date.now() - started > 240_000) throw new Error(`only ${sent} of ${N} emails after 240 s`);
      await sleep(200);
    }
    const secs = (Date.now() - started) / 1000;
    console.log(`backlog of ${N} order.placed events -> ${sent} emails in Mailpit`);
    console.log(
      `drain time (node start -> last email): ${secs.toFixed(1)} s, ${(N / secs).toFixed(0)} emails/s`,
    );
  } finally {
    await broker.stop();
  }
}

const deadline = setTimeout(() => {
  console.error("bench/notifications: gave up after 5 minutes");
  process.exit(1);
}, 300_000);
main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    clearTimeout(deadline);
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  });
