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
import { keepDatafileOpen } from "../lib/nedb-datafile";
import { fastBucketDeletes } from "../lib/nedb-index";
import { fastDocuments } from "../lib/nedb-fast-docs";

export interface IndexSpec {
  fields: Record<string, 1 | -1>;
  unique?: boolean;
  /** Documents without the field are left out of the index (on NeDB every non-unique index is). */
  sparse?: boolean;
  /**
   * Not created on NeDB, which indexes each field alone and on every write scans the bucket of
   * the document's value: a field of few values (`kind`, `status`) makes each write cost as much
   * as that bucket is large.
   */
  mongoOnly?: boolean;
}

/** Indexes a host's other mixins need, by name (the outbox's), created beside the collection's own. */
export interface DbIndexSettings extends ServiceSettingSchema {
  dbIndexes?: Record<string, IndexSpec>;
  /** Indexes an earlier version created and this one no longer wants: dropped at start if there. */
  dbRetiredIndexes?: IndexSpec[];
}

export interface DbMixinOptions {
  collection: string;
  indexes?: IndexSpec[];
}

type Doc = Record<string, any>;

const GENERIC_ACTIONS = ["find", "count", "list", "create", "insert", "get", "update", "remove"];

/**
 * What DbMixin gives its host: `ServiceSchema<Settings, MyMethods & DbMethods, MyVars & DbVars>`.
 * `adapter` is moleculer-db's (NeDB or MongoDB), which has no type declarations.
 */
export interface DbVars {
  adapter: any;
}
export interface DbMethods {
  /**
   * Atomic conditional update of one document: applies `update` only if a document matches
   * `filter` at that instant, and returns the updated document, or null when none matched.
   */
  updateOneIf(filter: Doc, update: Doc): Promise<any | null>;
  /** True when the store answers a trivial command. */
  dbPing(): Promise<boolean>;
  /**
   * The matching documents, sorted and limited by the store: on MongoDB with only `fields`, on
   * NeDB whole (its projection rebuilds each document through `modify`, dearer than the copy).
   */
  findFields(
    query: Doc,
    fields: Record<string, 1>,
    opts?: { sort?: Record<string, 1 | -1>; limit?: number },
  ): Promise<any[]>;
  /** The count of matching documents (moleculer-db's NeDB count copies every match to count it). */
  countDocs(query: Doc): Promise<number>;
  /**
   * The latest `limit` documents whose `field` (indexed) is `value` and whose top-level fields
   * equal `where`'s, in no set order. MongoDB: the newest by `createdAt`, with only `fields`.
   * NeDB: the `limit` most recently written, whole and in place from its index (so the answer is
   * read only; an index keeps a value's documents in write order, in creation order after a
   * load). Its cursor deep-copies each match and runs it through its query engine, and sorting
   * would touch every one of the value's documents: on a busy account that cost more than the
   * rest of the risk step together.
   */
  latestOf(
    field: string,
    value: unknown,
    opts: { where?: Record<string, unknown>; fields: string[]; limit: number },
  ): Promise<readonly Doc[]>;
  /**
   * The documents whose `field` (indexed) is `value` and whose top-level fields equal `where`'s,
   * ordered by `sort`'s fields ascending, at most `limit`. NeDB answers its own documents, in
   * place (read only): its cursor would match each through its query engine, sort them through
   * its dotted-path comparisons and deep-copy each, which for a poll that runs many times a
   * second cost more than the work it finds.
   */
  sortedOf<T = Doc>(
    field: string,
    value: unknown,
    opts: { where?: Record<string, unknown>; sort: string[]; limit?: number },
  ): Promise<readonly T[]>;
}

/** The store of one collection, as the configuration at the service's creation says. */
function adapterFor(collection: string): unknown {
  const cfg = config();
  if (cfg.mongoUri)
    return new MongoAdapter(cfg.mongoUri, {
      useUnifiedTopology: true,
      serverSelectionTimeoutMS: 5000,
    } as any);
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  fastBucketDeletes();
  fastDocuments();
  return new DbService.MemoryAdapter({ filename: path.join(cfg.dataDir, `${collection}.db`) } as any);
}

/**
 * NeDB serves a query from the index of its *last* indexed equality field; `_id` is the most
 * selective there is, so it goes last (else `{ _id, status: "pending" }` reads every pending doc).
 */
function byIdLast(filter: Doc): Doc {
  if (!("_id" in filter) || typeof filter._id === "object") return filter;
  const { _id, ...rest } = filter;
  return { ...rest, _id };
}

/** NeDB: the documents its index of `field` holds under `value`, the store's own (read only). */
function inIndex(svc: any, field: string, value: unknown): readonly Doc[] {
  const index = svc.adapter.db.indexes[field];
  if (!index) throw new Error(`${field} is not indexed`);
  return index.getMatching(value);
}

/** `where` as entries, taken once per read: each document is then compared field by field. */
function matches(doc: Doc, where: ReadonlyArray<[string, unknown]>): boolean {
  for (let i = 0; i < where.length; i++) if (doc[where[i][0]] !== where[i][1]) return false;
  return true;
}

/**
 * NeDB indexes one field each (compound indexes only speed up Mongo), and each field sparse unless
 * it is unique: NeDB answers a query through an index only for a value the document has, so
 * documents without the field were never found through it, yet a non-sparse index kept them all
 * in one bucket (the undefined one) that each of their writes scanned: every stock record sat in
 * the reservation `state` bucket. An index stored with other options is built again.
 */
async function ensureNedbIndexes(db: any, specs: IndexSpec[]): Promise<void> {
  const wanted = new Map<string, { unique: boolean; sparse: boolean }>();
  for (const idx of specs.filter((i) => !i.mongoOnly)) {
    const fields = Object.keys(idx.fields);
    for (const fieldName of fields) {
      const unique = Boolean(idx.unique) && fields.length === 1;
      const was = wanted.get(fieldName);
      if (was?.unique) continue;
      wanted.set(fieldName, { unique, sparse: unique ? Boolean(idx.sparse) : true });
    }
  }
  for (const [fieldName, { unique, sparse }] of wanted) {
    const kept = db.indexes[fieldName];
    if (kept && (kept.unique !== unique || kept.sparse !== sparse)) await db.removeIndexAsync(fieldName);
    await db.ensureIndexAsync({ fieldName, unique, sparse });
  }
}

/** Drops the host's retired indexes (NeDB: the fields no wanted index still uses). */
async function dropRetired(svc: any, wanted: IndexSpec[]): Promise<void> {
  for (const idx of (svc.settings as DbIndexSettings).dbRetiredIndexes ?? []) {
    if (svc.adapter instanceof MongoAdapter) {
      const name = Object.entries(idx.fields)
        .map(([k, v]) => `${k}_${v}`)
        .join("_");
      if (await svc.adapter.collection.indexExists(name)) await svc.adapter.collection.dropIndex(name);
      continue;
    }
    const used = new Set(wanted.filter((w) => !w.mongoOnly).flatMap((w) => Object.keys(w.fields)));
    for (const field of Object.keys(idx.fields))
      if (!used.has(field) && svc.adapter.db.indexes[field]) await svc.adapter.db.removeIndexAsync(field);
  }
}

export function DbMixin(opts: DbMixinOptions): ServiceSchema {
  const isMongo = (svc: any) => svc.adapter instanceof MongoAdapter;

  return {
    name: "",
    mixins: [DbService],
    // Read when the service is created, not when its module is imported: each instance gets a
    // store of its own, from the configuration in force then.
    merged(schema: ServiceSchema & { adapter?: unknown }) {
      schema.adapter = adapterFor(opts.collection);
    },
    collection: opts.collection,
    settings: { idField: "_id" },
    actions: Object.fromEntries(GENERIC_ACTIONS.map((a) => [a, false])) as any,
    methods: {
      async updateOneIf(filter: Doc, update: Doc): Promise<Doc | null> {
        if (isMongo(this)) {
          const res = await this.adapter.collection.findOneAndUpdate(filter, update, {
            returnOriginal: false,
          });
          return res.value ?? null;
        }
        // NeDB runs one operation at a time per datastore, so match-and-update is atomic.
        // (updateAsync, not moleculer-db's promisified `update`, which warns DEP0174 on every call)
        const { numAffected, affectedDocuments } = await this.adapter.db.updateAsync(
          byIdLast(filter),
          update,
          {
            returnUpdatedDocs: true,
            multi: false,
          },
        );
        return numAffected ? affectedDocuments : null;
      },
      findFields(
        query: Doc,
        fields: Record<string, 1>,
        opts: { sort?: Record<string, 1 | -1>; limit?: number } = {},
      ) {
        let cursor = isMongo(this)
          ? this.adapter.collection.find(query, { projection: fields })
          : this.adapter.db.findAsync(query);
        if (opts.sort) cursor = cursor.sort(opts.sort);
        if (opts.limit) cursor = cursor.limit(opts.limit);
        return isMongo(this) ? cursor.toArray() : cursor;
      },

      countDocs(query: Doc): Promise<number> {
        return isMongo(this)
          ? this.adapter.collection.countDocuments(query)
          : this.adapter.db.countAsync(query);
      },

      async latestOf(
        field: string,
        value: unknown,
        opts: { where?: Record<string, unknown>; fields: string[]; limit: number },
      ): Promise<readonly Doc[]> {
        const where = opts.where ?? {};
        if (isMongo(this)) {
          const projection = Object.fromEntries(opts.fields.map((f) => [f, 1]));
          return this.adapter.collection
            .find({ ...where, [field]: value }, { projection })
            .sort({ createdAt: -1 })
            .limit(opts.limit)
            .toArray();
        }
        const all = inIndex(this, field, value);
        const wanted = Object.entries(where);
        const docs: Doc[] = [];
        for (let i = all.length - 1; i >= 0 && docs.length < opts.limit; i--)
          if (matches(all[i], wanted)) docs.push(all[i]);
        return docs;
      },

      async sortedOf(
        field: string,
        value: unknown,
        opts: { where?: Record<string, unknown>; sort: string[]; limit?: number },
      ): Promise<readonly Doc[]> {
        const where = opts.where ?? {};
        if (isMongo(this)) {
          let cursor = this.adapter.collection
            .find({ ...where, [field]: value })
            .sort(Object.fromEntries(opts.sort.map((k) => [k, 1])));
          if (opts.limit) cursor = cursor.limit(opts.limit);
          return cursor.toArray();
        }
        const wanted = Object.entries(where);
        const docs = inIndex(this, field, value).filter((d) => matches(d, wanted));
        docs.sort((a, b) => {
          for (const k of opts.sort) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
          return 0;
        });
        return opts.limit && docs.length > opts.limit ? docs.slice(0, opts.limit) : docs;
      },

      async dbPing(): Promise<boolean> {
        if (!isMongo(this)) return Boolean(this.adapter.db);
        await this.adapter.db.command({ ping: 1 });
        return true;
      },
    },
    async afterConnected(this: any) {
      if (!isMongo(this)) this.closeDatafile = keepDatafileOpen(this.adapter.db);
      // Besides the collection's own, the indexes the host's other mixins declare (the outbox's).
      const declared = Object.values((this.settings as DbIndexSettings).dbIndexes ?? {});
      const indexes = [...(opts.indexes ?? []), ...declared];
      if (!isMongo(this)) await ensureNedbIndexes(this.adapter.db, indexes);
      else
        for (const idx of indexes)
          await this.adapter.collection.createIndex(idx.fields, {
            unique: Boolean(idx.unique),
            sparse: Boolean(idx.sparse),
          });
      await dropRetired(this, indexes);
      // The host's optional hook for work that needs the store, e.g. upgrading older documents.
      if (typeof this.dbReady === "function") await this.dbReady();
    },
    stopped(this: any) {
      this.closeDatafile?.();
    },
  } as ServiceSchema;
}
