/**
 * `npm run seed`: a demo catalogue of 240 products in 10 categories, with stock; the apparel
 * range comes in sizes and colours (one variant per size and colour, each with its own SKU and
 * stock).
 *
 * Every product and variant has a fixed SKU, so a second run creates nothing: the unique SKU
 * index answers 409 and the product is counted as already there. Products go through
 * `products.create`, so their stock, events and caches are handled as for any admin write:
 * - with TRANSPORTER set, the seed joins that cluster and calls its services;
 * - embedded, while `npm start` runs on the same DATA_DIR (lib/running-backend.ts), it goes
 *   through that backend's REST API with an admin token signed by DATA_DIR's own key, so the
 *   running server sees every product at once and no file has two writers;
 * - embedded with nothing running, it starts the products and inventory services itself over
 *   the store `npm start` uses.
 */
import { ServiceBroker } from "moleculer";
import type { ProductInput } from "../contracts";
import { loadService } from "../bin/node";
import { loadKeySet, signAccessToken } from "../lib/auth-tokens";
import { ConfigError, config, type Config } from "../lib/config";
import { runningBackend, type RunningBackend } from "../lib/running-backend";
import { call } from "../lib/typed";
import { brokerOptions } from "../moleculer.config";
import { setTimeout as sleep } from "node:timers/promises";

type SeedProduct = ProductInput & { sku: string; stock?: number };
/** Creates one product: true when created, false when its SKU was already there. */
type Create = (product: SeedProduct) => Promise<boolean>;

/** The seed cannot go on as things are; its message says what to do. */
class SeedRefused extends Error {}

const CATEGORIES: Record<string, string[]> = {
  lighting: ["Desk Lamp", "Floor Lamp", "Pendant Light", "Wall Sconce", "LED Strip", "Night Light"],
  furniture: ["Oak Desk", "Bookshelf", "Office Chair", "Side Table", "Bar Stool", "Coat Rack"],
  kitchen: ["Chef Knife", "Cast Iron Pan", "Kettle", "Coffee Grinder", "Cutting Board", "Teapot"],
  audio: ["Headphones", "Bluetooth Speaker", "Turntable", "Earbuds", "Soundbar", "Microphone"],
  books: ["Field Guide", "Cookbook", "Atlas", "Poetry Collection", "Travel Journal", "Sketchbook"],
  garden: ["Watering Can", "Pruning Shears", "Planter", "Garden Hose", "Seed Kit", "Bird Feeder"],
  sports: ["Yoga Mat", "Running Shoes", "Dumbbell Set", "Jump Rope", "Water Bottle", "Bike Helmet"],
  toys: ["Puzzle", "Building Blocks", "Kite", "Plush Bear", "Board Game", "Toy Train"],
  office: ["Notebook", "Fountain Pen", "Desk Organizer", "Stapler", "Monitor Stand", "Whiteboard"],
  apparel: ["Wool Scarf", "Rain Jacket", "Beanie", "Linen Shirt", "Canvas Tote", "Leather Belt"],
};
const FINISHES = ["Classic", "Pro", "Mini", "Deluxe"];
const SIZES = ["S", "M", "L", "XL"];
const COLORS = ["Black", "Navy", "Sand"];

/** The fixed catalogue: same input, same products, in the same order. */
export function demoCatalogue(): SeedProduct[] {
  const out: SeedProduct[] = [];
  Object.entries(CATEGORIES).forEach(([category, items], c) => {
    items.forEach((item, i) =>
      FINISHES.forEach((finish, f) => {
        const n = c * 100 + i * 10 + f;
        const sku = `DEMO-${category.toUpperCase()}-${String(i * FINISHES.length + f + 1).padStart(3, "0")}`;
        const sized = category === "apparel";
        out.push({
          sku,
          name: `${item} ${finish}`,
          description: `${finish} ${item.toLowerCase()} from the ${category} range.`,
          category,
          price: 499 + ((n * 7919) % 200) * 100,
          currency: "USD",
          images: [`https://images.example.com/${category}/${i + 1}-${f + 1}.jpg`],
          ...(sized
            ? {
                options: [
                  { name: "Size", values: SIZES },
                  { name: "Color", values: COLORS },
                ],
                variants: SIZES.flatMap((Size, si) =>
                  COLORS.map((Color, ci) => ({
                    sku: `${sku}-${Size}-${Color.toUpperCase()}`,
                    options: { Size, Color },
                    ...(Size === "XL" ? { price: 499 + ((n * 7919) % 200) * 100 + 300 } : {}),
                    stock: (n * 37 + si * 11 + ci * 5) % 17,
                  })),
                ),
              }
            : { stock: (n * 37) % 61 }),
        });
      }),
    );
  });
  return out;
}

function progress(done: number, total: number, created: number, existing: number) {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}  created ${created}, already there ${existing}`;
  // A redrawn bar on a terminal; one line per tenth when piped to a file.
  if (process.stdout.isTTY) process.stdout.write(`\r${bar}${done === total ? "\n" : ""}`);
  else if (done === total || done % Math.ceil(total / 10) === 0) process.stdout.write(`${bar}\n`);
}

/** Embedded with a backend running on DATA_DIR: through its REST API, as an admin. */
function viaApi(cfg: Config, backend: RunningBackend): Create {
  if (backend.port === null)
    throw new SeedRefused(
      `A backend (pid ${backend.pid}) runs on ${cfg.dataDir} without the api service: stop it, or run it with the api, then seed again.`,
    );
  const { signing } = loadKeySet({ ...cfg.jwt, dataDir: cfg.dataDir });
  const admin = { id: "seed", role: "admin" as const };
  const token = signAccessToken(signing, admin, { ...cfg.jwt, ttlSeconds: 3600 });
  const url = `http://127.0.0.1:${backend.port}/api/products`;
  return async function create(product) {
    for (;;) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(product),
      });
      const body: any = await res.json().catch(() => null);
      if (res.status === 201) return true;
      if (res.status === 409 && body?.type === "SKU_TAKEN") return false;
      if (res.status === 429) {
        await sleep(1000 * Number(res.headers.get("retry-after") ?? 1));
        continue;
      }
      if (res.status === 401)
        throw new SeedRefused(
          `The backend on port ${backend.port} refused the seed's admin token: it must run with this DATA_DIR (${cfg.dataDir}) and its JWT keys.`,
        );
      throw new Error(`POST /api/products answered ${res.status}: ${JSON.stringify(body)}`);
    }
  };
}

/** Over a broker: the cluster's (TRANSPORTER set), or products and inventory started here. */
async function viaBroker(cfg: Config): Promise<{ create: Create; stop: () => Promise<void> }> {
  const broker = new ServiceBroker({
    ...brokerOptions(cfg),
    nodeID: `seed-${process.pid}`,
    logger: { type: "Console", options: { level: "warn" } },
  });
  if (!cfg.transporter) for (const name of ["products", "inventory"]) broker.createService(loadService(name));
  await broker.start();
  await broker.waitForServices(["products", "inventory"], 30_000);
  const meta = { user: { id: "seed", role: "admin" as const } };
  const create: Create = async (product) => {
    try {
      await call(broker, "products.create", product, { meta });
      return true;
    } catch (err: any) {
      if (err?.type !== "SKU_TAKEN") throw err;
      return false;
    }
  };
  return { create, stop: () => broker.stop() };
}

async function main() {
  const cfg = config();
  const backend = cfg.transporter ? null : runningBackend(cfg.dataDir);
  const { create, stop } = backend
    ? { create: viaApi(cfg, backend), stop: async () => undefined }
    : await viaBroker(cfg);
  if (backend) console.log(`A backend runs on ${cfg.dataDir} (pid ${backend.pid}): seeding through its API.`);
  try {
    const catalogue = demoCatalogue();
    let created = 0;
    let existing = 0;
    progress(0, catalogue.length, 0, 0);
    for (const [i, product] of catalogue.entries()) {
      if (await create(product)) created++;
      else existing++;
      progress(i + 1, catalogue.length, created, existing);
    }
    const categories = new Set(catalogue.map((p) => p.category)).size;
    console.log(
      `Seeded: ${created} created, ${existing} already there (${catalogue.length} products, ${categories} categories).`,
    );
  } finally {
    await stop();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof ConfigError || err instanceof SeedRefused ? err.message : err);
    process.exit(1);
  });
}
