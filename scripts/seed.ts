/**
 * `npm run seed`: a demo catalogue of 240 products in 10 categories, with stock.
 *
 * Every product has a fixed SKU, so a second run creates nothing: the unique SKU index answers
 * 409 and the product is counted as already there. Products go through `products.create`, so
 * their stock, events and caches are handled as for any admin write.
 *
 * Embedded (TRANSPORTER unset): starts the products and inventory services on this process over
 * the same store `npm start` uses (NeDB under DATA_DIR, or MONGO_URI); stop the app first when it
 * runs on NeDB files. With TRANSPORTER set it joins that cluster and calls its services instead.
 */
import { ServiceBroker } from "moleculer";
import type { ProductInput } from "../contracts";
import { loadService } from "../bin/node";
import { ConfigError, config } from "../lib/config";
import { call } from "../lib/typed";
import { brokerOptions } from "../moleculer.config";

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

/** The fixed catalogue: same input, same products, in the same order. */
export function demoCatalogue(): Array<ProductInput & { sku: string; stock: number }> {
  const out: Array<ProductInput & { sku: string; stock: number }> = [];
  Object.entries(CATEGORIES).forEach(([category, items], c) => {
    items.forEach((item, i) =>
      FINISHES.forEach((finish, f) => {
        const n = c * 100 + i * 10 + f;
        out.push({
          sku: `DEMO-${category.toUpperCase()}-${String(i * FINISHES.length + f + 1).padStart(3, "0")}`,
          name: `${item} ${finish}`,
          description: `${finish} ${item.toLowerCase()} from the ${category} range.`,
          category,
          price: 499 + ((n * 7919) % 200) * 100,
          currency: "USD",
          images: [`https://images.example.com/${category}/${i + 1}-${f + 1}.jpg`],
          stock: (n * 37) % 61,
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

async function main() {
  const cfg = config();
  const broker = new ServiceBroker({
    ...brokerOptions(cfg),
    nodeID: `seed-${process.pid}`,
    logger: { type: "Console", options: { level: "warn" } },
  });
  if (!cfg.transporter) for (const name of ["products", "inventory"]) broker.createService(loadService(name));
  await broker.start();
  try {
    await broker.waitForServices(["products", "inventory"], 30_000);
    const catalogue = demoCatalogue();
    const meta = { user: { id: "seed", role: "admin" as const } };
    let created = 0;
    let existing = 0;
    progress(0, catalogue.length, 0, 0);
    for (const [i, product] of catalogue.entries()) {
      try {
        await call(broker, "products.create", product, { meta });
        created++;
      } catch (err: any) {
        if (err?.type !== "SKU_TAKEN") throw err;
        existing++;
      }
      progress(i + 1, catalogue.length, created, existing);
    }
    const categories = new Set(catalogue.map((p) => p.category)).size;
    console.log(
      `Seeded: ${created} created, ${existing} already there (${catalogue.length} products, ${categories} categories).`,
    );
  } finally {
    await broker.stop();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
}
