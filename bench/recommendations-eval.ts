/**
 * Offline evaluation of the co-purchase model (`npm run eval:recommendations`): a seeded
 * synthetic order history with planted co-purchase structure (bundles of products from
 * different categories that the same customers buy), every customer's last order held out,
 * the model trained on the rest, and hit-rate@10 and NDCG@10 of its list for each customer
 * against the popularity baseline (most-bought products the customer has not bought).
 *
 * The structure: 240 products in 12 categories; 60 bundles of 4 products; each customer leans
 * to 1 or 2 bundles. 70 % of the lines of an order come from the customer's bundles, the rest
 * from a Zipf-popular draw over the whole catalogue (the noise a popularity list is good at).
 * Seed and sizes are flags: `-- --seed 7 --customers 3000`.
 */
import { CoPurchaseModel, fillWith, hitAt, ndcgAt } from "../domain/recommendations";
import { intIn, pick, seeded, shuffled, zipf } from "../domain/random";

const K = 10;

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

interface Order {
  eventId: string;
  customer: string;
  products: string[];
}

export function syntheticHistory(seed: number, customers: number): Order[][] {
  const rnd = seeded(seed);
  const categories = 12;
  const perCategory = 20;
  const products = Array.from({ length: categories * perCategory }, (_, i) => `p${i}`);
  // Popularity ranks are shuffled so the bundles are not simply the most popular products.
  const byPopularity = shuffled(rnd, products);
  const bundles = Array.from({ length: 60 }, () =>
    Array.from(
      { length: 4 },
      () => `p${intIn(rnd, 0, categories - 1) * perCategory + intIn(rnd, 0, perCategory - 1)}`,
    ),
  );
  const popularRank = zipf(products.length, 1.1);
  const histories: Order[][] = [];
  for (let c = 0; c < customers; c++) {
    const customer = `u${c}`;
    const mine = Array.from({ length: intIn(rnd, 1, 2) }, () => pick(rnd, bundles));
    const orders: Order[] = [];
    for (let o = 0, n = intIn(rnd, 2, 6); o < n; o++) {
      const lines = Array.from({ length: intIn(rnd, 1, 3) }, () =>
        rnd() < 0.7 ? pick(rnd, pick(rnd, mine)) : byPopularity[popularRank(rnd)],
      );
      orders.push({ eventId: `${customer}-o${o}`, customer, products: [...new Set(lines)] });
    }
    histories.push(orders);
  }
  return histories;
}

export function evaluate(seed: number, customers: number) {
  const histories = syntheticHistory(seed, customers);
  const model = new CoPurchaseModel();
  // The training orders in time order: customers' orders interleave, as they would in the stream.
  const training = histories.flatMap((orders) => orders.slice(0, -1).map((o, i) => ({ o, i })));
  training.sort((x, y) => x.i - y.i);
  for (const { o } of training) model.add(o.eventId, o.customer, o.products);
  const score = { model: { hit: 0, ndcg: 0 }, popular: { hit: 0, ndcg: 0 } };
  let evaluated = 0;
  for (const orders of histories) {
    const last = orders[orders.length - 1];
    const bought = new Set(model.bought(last.customer));
    const heldOut = new Set(last.products.filter((p) => !bought.has(p)));
    if (!heldOut.size) continue; // nothing new to find: no list could be right or wrong
    evaluated++;
    const baseline = model.popular(K, bought);
    const ours = fillWith(model.forCustomer(last.customer, K), baseline, K);
    score.model.hit += hitAt(ours, heldOut, K);
    score.model.ndcg += ndcgAt(ours, heldOut, K);
    score.popular.hit += hitAt(baseline, heldOut, K);
    score.popular.ndcg += ndcgAt(baseline, heldOut, K);
  }
  const avg = (x: number) => x / evaluated;
  return {
    customers,
    evaluated,
    orders: histories.reduce((n, h) => n + h.length, 0),
    model: { hitRate: avg(score.model.hit), ndcg: avg(score.model.ndcg) },
    popular: { hitRate: avg(score.popular.hit), ndcg: avg(score.popular.ndcg) },
  };
}

if (require.main === module) {
  const seed = flag("seed", 42);
  const r = evaluate(seed, flag("customers", 2000));
  const f = (x: number) => x.toFixed(3);
  console.log(
    `seed ${seed}: ${r.customers} customers, ${r.orders} orders, ${r.evaluated} held-out last orders with a new product`,
  );
  console.log(`strategy                hit-rate@${K}  NDCG@${K}`);
  console.log(`item-to-item (cosine)   ${f(r.model.hitRate)}         ${f(r.model.ndcg)}`);
  console.log(`popularity baseline     ${f(r.popular.hitRate)}         ${f(r.popular.ndcg)}`);
  const beats = r.model.hitRate > r.popular.hitRate && r.model.ndcg > r.popular.ndcg;
  console.log(beats ? "the model beats the baseline on both" : "THE MODEL DOES NOT BEAT THE BASELINE");
  if (!beats) process.exitCode = 1;
}
