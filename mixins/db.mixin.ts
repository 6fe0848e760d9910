/**
 * DbMixin({ collection, indexes }): moleculer-db with the adapter picked from the environment:
 * MongoDB when MONGO_URI is set, else one NeDB file per collection under DATA_DIR. Other mixins
 * declare indexes they need as `settings.dbIndexes: { name: IndexSpec }`.
 * moleculer-db's generic CRUD actions are switched off: services expose explicit actions only.
 * A host method `dbReady()`, if any, runs once the store is connected and indexed.
 */
import fs from "node:fs";
import path from "node:path";
import type { ServiceSchema, ServiceSettingSchema } from "moleculer";
import DbService from "moleculer-db";
import MongoAdapter from "moleculer-db-adapter-mongo";
import { config } from "../lib/config";

export interface IndexSpec {
  fields: Record<string, 1 | -1>;
  unique?: boolean;
  /** Documents without the field are left out of the index (NeDB `sparse`, Mongo `sparse`). */
  sparse?: boolean;
}

/** Indexes a host's other mixins need, by name (the outbox's), created beside the collection's own. */
export interface DbIndexSettings extends ServiceSettingSchema {
  dbIndexes?: Record<string, IndexSpec>;
}

export interface DbMixinOptions {
  collection: string;
  indexes?: IndexSpec[];
}

type Doc = Record<string, any>;

const GENERIC_ACTIONS = ["find", "count", "list", "create", "insert", "get", "update", "remove"];

export function DbMixin(opts: DbMixinOptions): ServiceSchema {
  const cfg = config();
  let adapter: unknown;
  if (cfg.mongoUri) {
    adapter = new MongoAdapter(cfg.mongoUri, {
      useUnifiedTopology: true,
      serverSelectionTimeoutMS: 5000,
    } as any);
  } else {
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    adapter = new DbService.MemoryAdapter({
      filename: path.join(cfg.dataDir, `${opts.collection}.db`),
    } as any);
  }
  const isMongo = Boolean(cfg.mongoUri);

  return {
    name: "",
    mixins: [DbService],
    adapter,
    collection: opts.collection,
    settings: { idField: "_id" },
    actions: Object.fromEntries(GENERIC_ACTIONS.map((a) => [a, false])) as any,
    methods: {
      /**
       * Atomic conditional update of one document: applies `update` only if a document matches
       * `filter` at that instant, and returns the updated document, or null when none matched.
       */
      async updateOneIf(filter: Doc, update: Doc): Promise<Doc | null> {
        if (isMongo) {
          const res = await this.adapter.collection.findOneAndUpdate(filter, update, {
            returnOriginal: false,
          });
          return res.value ?? null;
        }
        // NeDB runs one operation at a time per datastore, so match-and-update is atomic.
        // (updateAsync, not moleculer-db's promisified `update`, which warns DEP0174 on every call)
        const { numAffected, affectedDocuments } = await this.adapter.db.updateAsync(filter, update, {
          returnUpdatedDocs: true,
          multi: false,
        });
        return numAffected ? affectedDocuments : null;
      },
      /** True when the store answers a trivial command. */
      async dbPing(): Promise<boolean> {
        if (!isMongo) return Boolean(this.adapter.db);
        await this.adapter.db.command({ ping: 1 });
        return true;
      },
    },
    async afterConnected(this: any) {
      // Besides the collection's own, the indexes the host's other mixins declare (the outbox's).
      const declared = Object.values((this.settings as DbIndexSettings).dbIndexes ?? {});
      for (const idx of [...(opts.indexes ?? []), ...declared]) {
        if (isMongo) {
          await this.adapter.collection.createIndex(idx.fields, {
            unique: Boolean(idx.unique),
            sparse: Boolean(idx.sparse),
          });
        } else {
          // NeDB indexes one field each; compound indexes only speed up Mongo.
          for (const fieldName of Object.keys(idx.fields)) {
            await this.adapter.db.ensureIndex({
              fieldName,
              unique: Boolean(idx.unique) && Object.keys(idx.fields).length === 1,
              sparse: Boolean(idx.sparse),
            });
          }
        }
      }
      // The host's optional hook for work that needs the store, e.g. upgrading older documents.
      if (typeof this.dbReady === "function") await this.dbReady();
    },
  } as ServiceSchema;
}
