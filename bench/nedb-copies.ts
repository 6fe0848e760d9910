/**
 * NeDB's own copies vs fixed-layout ones (lib/nedb-fast-docs.ts), in-process, bounded (~1 minute):
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/nedb-copies.js
 *
 * One in-memory datastore indexed like the orders' (`userId`, `status`), holding BENCH_NEDB_DOCS
 * (30,000) order-like documents of 3,000 customers; then BENCH_NEDB_ORDERS (20,000) times what
 * the store does for one order: insert it, update it three times ($set, $push, $unset), read it
 * by id, and read its customer's orders by `userId`. Each side runs in a child process of its
 * own (the patch applies to the whole process), BENCH_ROUNDS (3) times, interleaved; printed:
 * µs per order of each and the ratio of the medians.
 */
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { fastBucketDeletes } from "../lib/nedb-index";
import { fastDocuments } from "../lib/nedb-fast-docs";

const DOCS = Number(process.env.BENCH_NEDB_DOCS ?? 30_000);
const ORDERS = Number(process.env.BENCH_NEDB_ORDERS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CUSTOMERS = 3000;

const order = (i: number) => ({
  _id: `o${i}`,
  kind: "order",
  userId: `u${i % CUSTOMERS}`,
  cartId: `c${i}`,
  items: [
    { productId: `p${i % 1000}`, variantId: `v${i % 1000}`, quantity: 1, unitPrice: 1250, name: "Mug" },
  ],
  subtotal: 1250,
  total: 1250,
  currency: "EUR",
  status: "pending",
  history: [{ status: "pending", at: new Date(i).toISOString() }],
  payment: { id: null, status: "pending" },
  paymentToken: "tok_visa",
  shippingAddress: { name: "A", line1: "B 1", city: "C", postalCode: "10115", country: "DE" },
  fromCart: false,
  step: "reserve",
  hidden: false,
  leaseUntil: i,
  leaseOwner: `lease-${i}`,
  createdAt: new Date(i).toISOString(),
  updatedAt: new Date(i).toISOString(),
});

/** One side: µs per order. */
async function side(fixedLayout: boolean) {
  fastBucketDeletes();
  if (fixedLayout) fastDocuments();
  const nedbRequire = createRequire(require.resolve("moleculer-db"));
  const Datastore = nedbRequire("@seald-io/nedb");
  const db = new Datastore({ inMemoryOnly: true });
  await db.ensureIndexAsync({ fieldName: "userId" });
  await db.ensureIndexAsync({ fieldName: "status" });
  let i = 0;
  while (i < DOCS) await db.insertAsync(order(i++));
  const one = async () => {
    const _id = `o${i}`;
    await db.insertAsync(order(i++));
    await db.updateAsync({ _id }, { $set: { step: "risk", updatedAt: "t1" } });
    await db.findOneAsync({ _id });
    await db.updateAsync(
      { _id },
      {
        $set: { step: "charge", riskCard: "0123456789ab" },
        $push: { history: { status: "paid", at: "t2" } },
      },
    );
    await db.updateAsync({ _id }, { $set: { status: "confirmed", step: "done" }, $unset: { leaseUntil: 1 } });
    await db.findAsync({ userId: `u${i % CUSTOMERS}` });
  };
  for (let w = 0; w < ORDERS / 4; w++) await one();
  const start = process.hrtime.bigint();
  for (let w = 0; w < ORDERS; w++) await one();
  return Number(process.hrtime.bigint() - start) / ORDERS / 1000;
}

const run = (mode: string) =>
  new Promise<number>((resolve, reject) => {
    const child = fork(__filename, [mode]);
    child.once("message", (us) => resolve(us as number));
    // After its answer this does nothing; without one (a crash), the bench ends instead of waiting.
    child.once("exit", (code) => reject(new Error(`${mode} exited with ${code} before answering`)));
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main() {
  const mode = process.argv[2];
  if (mode) {
    process.send!(await side(mode === "fixed"));
    return;
  }
  const own: number[] = [];
  const fixed: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    own.push(await run("own"));
    fixed.push(await run("fixed"));
  }
  console.log(`NeDB's own copies, µs per order: ${own.map((u) => u.toFixed(1)).join(" ")}`);
  console.log(`fixed-layout copies, µs per order: ${fixed.map((u) => u.toFixed(1)).join(" ")}`);
  console.log(`fixed / own, medians: ${(median(fixed) / median(own)).toFixed(2)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
