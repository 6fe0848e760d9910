/**
 * What an order for a variant costs at checkout, next to an order for a product without options
 * (issue 14: a new feature on the checkout path says what it costs per order), on 127.0.0.1 only,
 * bounded (about 2 minutes):
 *
 *   npm run build && node dist/bench/checkout-variants.js
 *
 * One embedded node (the checkout services of bench/checkout.ts, NeDB), its catalogue seeded as
 * bench/checkout.ts seeds it (1,001 products without options), plus 200 apparel products made
 * through the admin API, each in 5 sizes (its own SKU, price and stock per variant). Closed loop
 * from BENCH_CONCURRENCY (16) clients, 1 unit per order: a random product of the plain catalogue vs a random size of a
 * random apparel product (`{productId, variantId}`), rounds alternating which goes first (the store
 * grows with every order). Prints CPU per order variant / plain and orders/s of each; then checks
 * that orders counted by the API equal units gone from both catalogues.
 *
 * Environment: BENCH_SECONDS (5), BENCH_V_ROUNDS (6).
 */
import { freePort, kill, runBench, tmpDir } from "./support";
import {
  ADMIN,
  CHECKOUT,
  CONCURRENCY,
  SECONDS,
  STOCK,
  api,
  consistency,
  load,
  median,
  printHeader,
  seedCatalog,
  signUsers,
  spread,
  startNode,
  unitsSold,
  waitReady,
  type Row,
} from "./checkout";

const ROUNDS = Number(process.env.BENCH_V_ROUNDS ?? 6);
const APPAREL = 200;
const SIZES = ["XS", "S", "M", "L", "XL"];

/** The apparel catalogue through the admin API: each product's variant ids. */
async function createApparel(
  base: string,
  admin: string,
): Promise<Array<{ productId: string; variantIds: string[] }>> {
  const made = [];
  for (let i = 0; i < APPAREL; i++) {
    const res = await api(
      base,
      "POST",
      "/api/products",
      {
        sku: `BENCH-TEE-${i}`,
        name: `Bench tee ${i}`,
        price: 1500 + i,
        currency: "USD",
        category: "bench-apparel",
        options: [{ name: "Size", values: SIZES }],
        variants: SIZES.map((Size, k) => ({
          sku: `BENCH-TEE-${i}-${Size}`,
          options: { Size },
          price: 1500 + i + k * 100,
          stock: STOCK,
        })),
      },
      admin,
    );
    if (res.status !== 201)
      throw new Error(`POST /api/products answered ${res.status} ${JSON.stringify(res.body)}`);
    made.push({ productId: res.body.id, variantIds: res.body.variants.map((v: { id: string }) => v.id) });
  }
  return made;
}

async function run() {
  console.log(
    `checkout-variants bench: node ${process.version}, NeDB, ${CONCURRENCY} clients, ${SECONDS} s rounds x ${ROUNDS}\n`,
  );
  const seeded = await seedCatalog();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const node = startNode("embedded-v", CHECKOUT, {
    DATA_DIR: tmpDir("bench-co-v-", seeded),
    PORT: String(port),
  });
  try {
    await waitReady(base);
    const admin = (await api(base, "POST", "/api/user/login", ADMIN)).body.accessToken;
    const apparel = await createApparel(base, admin);
    const tokens = await signUsers(base, CONCURRENCY);
    const variant = () => {
      const p = apparel[Math.floor(Math.random() * apparel.length)];
      return { productId: p.productId, variantId: p.variantIds[Math.floor(Math.random() * SIZES.length)] };
    };
    printHeader();
    await load("warm-up, plain (not counted)", base, tokens, spread, SECONDS);
    await load("warm-up, variants (not counted)", base, tokens, variant, SECONDS);
    const plain: Row[] = [];
    const sized: Row[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const a = () => load(`plain product #${r}`, base, tokens, spread, SECONDS).then((x) => plain.push(x));
      const b = () =>
        load(`variant of a 5-size product #${r}`, base, tokens, variant, SECONDS).then((x) => sized.push(x));
      if (r % 2) await a().then(b);
      else await b().then(a);
    }
    const pairs = sized.map((s, i) => s.cpuUs / plain[i].cpuUs);
    console.log(`    CPU per order variant / plain, each pair: ${pairs.map((x) => x.toFixed(3)).join(" ")}`);
    // Every apparel variant started with STOCK units.
    await consistency("both catalogues", base, () => unitsSold(base, "bench-apparel", STOCK * SIZES.length));
    console.log(
      `\n  CPU per order, variant / plain: ${median(pairs).toFixed(3)} (median of the pairs); ` +
        `CPU µs/order ${median(sized.map((x) => x.cpuUs)).toFixed(0)} vs ${median(plain.map((x) => x.cpuUs)).toFixed(0)}; ` +
        `orders/s ${median(sized.map((x) => x.rps)).toFixed(0)} vs ${median(plain.map((x) => x.rps)).toFixed(0)}`,
    );
  } finally {
    await kill([node]);
  }
}

if (require.main === module) void runBench("checkout-variants", 300_000, run);
