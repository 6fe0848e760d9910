/**
 * One-time upkeep of products stored by earlier versions, run at every start and idempotent:
 * their SKU listed under `skus` (the one unique index over product and variant SKUs), and their
 * `inStock` flag, once inventory answers (nodes start in any order).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceSchema } from "moleculer";
import type { ProductDoc } from "../domain/catalog";

export const ProductMigrationsMixin: Partial<ServiceSchema> = {
  methods: {
    /** The inStock flag of products stored before it existed, once inventory answers (any node may start first). */
    async flagWhenInventoryIsUp(this: any): Promise<void> {
      for (let delay = 200; ; delay = Math.min(delay * 2, 10_000)) {
        if (this.broker.registry.actions.isAvailable("inventory.getMany")) {
          try {
            const flagged = await this.flagMissingInStock();
            if (flagged) this.logger.info(`Set the inStock flag of ${flagged} products stored before it.`);
            return;
          } catch (err) {
            this.logger.warn("Setting the inStock flag of older products failed; will retry.", String(err));
          }
        }
        await sleep(delay);
        if (this.broker.stopping) return;
      }
    },

    /** Products stored before variants list their SKU under `skus` too; idempotent, once at start. */
    async migrateSkus(this: any): Promise<number> {
      const old: ProductDoc[] = await this.adapter.find({ query: { skus: { $exists: false } } });
      for (const doc of old)
        await this.updateOneIf(
          { _id: doc._id, skus: { $exists: false } },
          { $set: { skus: doc.deleted ? [] : [doc.sku] } },
        );
      return old.length;
    },

    /** DbMixin's hook: the store is connected and indexed. */
    async dbReady(this: any): Promise<void> {
      const migrated = await this.migrateSkus();
      if (migrated) this.logger.info(`Listed the SKUs of ${migrated} products stored before variants.`);
      void this.flagWhenInventoryIsUp();
    },
  },
};
