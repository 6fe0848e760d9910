/**
 * The products' `inStock` flag, which `?inStock=true` filters on in the store: true while an
 * active variant has units available. Stock lives in inventory, which announces on a durable
 * channel each time a record goes from some units to none or back; this mixin then re-reads the
 * product's levels and stores what they say, so an announcement that comes late, twice or out
 * of order still leaves the flag right. Variant changes (added, removed, made inactive) refresh
 * it too, and products stored before the flag existed get it once at start.
 *
 * The flag follows the stock by a channel hop (milliseconds); `available` in every answer is
 * read from inventory itself.
 */
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { InternalChannels, type AvailabilityChanged } from "../contracts";
import { call } from "../lib/typed";
import { variantsOf, type ProductDoc } from "../domain/catalog";

/** inventory.getMany takes 100 ids a call; a page of products with many variants asks in several. */
const LEVELS_PER_CALL = 100;
/** Products flagged per inventory round trip and cache invalidation by the start-up migration. */
const FLAG_BATCH = 100;
/** Re-reads after a write whose levels changed meanwhile; past that, the next announcement fixes it. */
const REFRESH_ATTEMPTS = 3;

export interface InStockMethods {
  refreshInStock(doc: ProductDoc): Promise<void>;
  levelsOf(doc: ProductDoc): Promise<Map<string, number>>;
  flagMissingInStock(): Promise<number>;
}

/** Units available per stock id (variant id), in as few inventory calls as the limit allows. */
export async function availableOf(via: Context | ServiceBroker, ids: string[]): Promise<Map<string, number>> {
  const calls = [];
  for (let i = 0; i < ids.length; i += LEVELS_PER_CALL)
    calls.push(call(via, "inventory.getMany", { productIds: ids.slice(i, i + LEVELS_PER_CALL) }));
  return new Map((await Promise.all(calls)).flat().map((l) => [l.productId, l.available]));
}

const inStockOf = (doc: ProductDoc, levels: Map<string, number>) =>
  variantsOf(doc).some((v) => v.active && (levels.get(v.id) ?? 0) > 0);

export const ProductInStockMixin: Partial<ServiceSchema> & { channels: object } = {
  channels: {
    [InternalChannels.inventoryAvailability]: {
      group: "products",
      async handler(this: any, ctx: Context<AvailabilityChanged>) {
        const id = ctx.params.stockId;
        const doc: ProductDoc | null = await this.adapter.findOne({
          $or: [{ _id: id }, { "variants.id": id }],
        });
        if (doc && !doc.deleted) await this.refreshInStock(doc);
      },
    },
  },

  methods: {
    levelsOf(this: any, doc: ProductDoc): Promise<Map<string, number>> {
      return availableOf(
        this.broker,
        variantsOf(doc).map((v) => v.id),
      );
    },

    async refreshInStock(this: any, doc: ProductDoc): Promise<void> {
      let current: ProductDoc | null = doc;
      for (let attempt = 0; current && attempt < REFRESH_ATTEMPTS; attempt++) {
        const inStock = inStockOf(current, await this.levelsOf(current));
        if (current.inStock === inStock) return;
        // Only while the variants are those the levels were read for (a concurrent write refreshes too).
        const written: ProductDoc | null = await this.updateOneIf(
          { _id: current._id, version: current.version },
          { $set: { inStock } },
        );
        if (written) {
          await this.announceChange();
          current = written;
        } else current = await this.adapter.findById(doc._id);
      }
    },

    /** Products stored before the flag existed; idempotent, run at start. */
    async flagMissingInStock(this: any): Promise<number> {
      const docs: ProductDoc[] = await this.adapter.find({ query: { inStock: { $exists: false } } });
      // In batches, with one cache invalidation each: a large catalogue's first start must not
      // clear the cache (and call inventory) once per product while it serves traffic.
      for (let i = 0; i < docs.length; i += FLAG_BATCH) {
        const batch = docs.slice(i, i + FLAG_BATCH);
        const levels = await availableOf(
          this.broker,
          batch.flatMap((d) => variantsOf(d).map((v) => v.id)),
        );
        // A product an availability announcement flagged meanwhile keeps that fresher flag.
        for (const doc of batch)
          await this.updateOneIf(
            { _id: doc._id, inStock: { $exists: false } },
            { $set: { inStock: inStockOf(doc, levels) } },
          );
        await this.announceChange();
      }
      return docs.length;
    },
  },
};
