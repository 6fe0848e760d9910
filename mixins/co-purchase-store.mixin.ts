/**
 * The recommendations service's counts, in its own collection (one document per product, per
 * product pair and per customer), updated one order at a time (domain/recommendations.ts says
 * what is counted).
 *
 * What must stay true: a redelivered event never counts twice, even after a crash between two
 * of its writes. Each count is a set of customers with its size beside it, and a customer is
 * added by one compare-and-set ("not yet among the buyers": push and increment), so replaying an
 * event's writes changes nothing already written. The customer's own list is written last: a
 * redelivery after a crash before it recomputes the same new products and pairs.
 */
import type { ServiceSchema } from "moleculer";
import { isDuplicateKey } from "../domain/catalog";
import { newPurchases, pairKey, type CoPurchase } from "../domain/recommendations";
import type { DbMethods, DbVars } from "./db.mixin";

export interface ItemDoc {
  _id: string;
  kind: "item";
  productId: string;
  buyers: string[];
  n: number;
  category?: string;
  active?: boolean;
}
export interface PairDoc {
  _id: string;
  kind: "pair";
  a: string;
  b: string;
  buyers: string[];
  n: number;
}
interface CustomerDoc {
  _id: string;
  kind: "customer";
  items: string[];
}

const itemId = (productId: string) => `i:${productId}`;
const pairId = (a: string, b: string) => `p:${a}|${b}`;
const customerId = (customer: string) => `u:${customer}`;
const eventId = (id: string) => `e:${id}`;

export interface CoPurchaseMethods {
  /** Counts an order's products for its customer; false when the event was counted before. */
  countOrder(event: string, customer: string, products: string[]): Promise<boolean>;
  /** Keeps a product's category and whether it may be shown. */
  describeProduct(productId: string, fields: { category?: string; active: boolean }): Promise<void>;
  boughtBy(customer: string): Promise<string[]>;
  coPurchasesOf(productIds: string[]): Promise<Map<string, CoPurchase[]>>;
  buyerCounts(productIds: string[]): Promise<Map<string, number>>;
  /** Most-bought shown products, of one category or of all. */
  mostBought(category: string | undefined, limit: number): Promise<string[]>;
  addBuyer(id: string, fields: object, buyer: string): Promise<void>;
  upsert(id: string, fields: object, set: object): Promise<void>;
}

type This = DbVars & DbMethods & CoPurchaseMethods;

/**
 * "The buyers do not include this one". MongoDB's `$ne` on an array field means that; NeDB's
 * matches when any element differs, so there it is `$not` of the match.
 */
function notAmongBuyers(adapter: any, buyer: string): object {
  return adapter.collection ? { buyers: { $ne: buyer } } : { $not: { buyers: buyer } };
}

export const CoPurchaseStoreMixin: ServiceSchema = {
  name: "",
  methods: {
    /** Adds `buyer` to the document's set once (creating the document if it is new). */
    async addBuyer(this: This, id: string, fields: object, buyer: string) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const pushed = await this.updateOneIf(
          { _id: id, ...notAmongBuyers(this.adapter, buyer) },
          { $push: { buyers: buyer }, $inc: { n: 1 } },
        );
        if (pushed) return;
        try {
          await this.adapter.insert({ _id: id, ...fields, buyers: [buyer], n: 1 });
          return;
        } catch (err) {
          // It exists: the buyer is in it already (the next pass finds nothing to push), or was not yet.
          if (!isDuplicateKey(err)) throw err;
        }
      }
    },

    async upsert(this: This, id: string, fields: object, set: object) {
      if (await this.updateOneIf({ _id: id }, { $set: set })) return;
      try {
        await this.adapter.insert({ _id: id, ...fields, ...set });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        await this.updateOneIf({ _id: id }, { $set: set });
      }
    },

    async countOrder(this: This, event: string, customer: string, products: string[]) {
      if (await this.adapter.findById(eventId(event))) return false;
      const before = await this.boughtBy(customer);
      const { items, pairs } = newPurchases(before, products);
      const addPair = ([a, b]: [string, string]) =>
        this.addBuyer(pairId(a, b), { kind: "pair", a, b }, customer);
      for (const item of items)
        await this.addBuyer(itemId(item), { kind: "item", productId: item }, customer);
      for (const pair of pairs) await addPair(pair);
      if (items.length) {
        await this.upsert(customerId(customer), { kind: "customer", items: [] }, {});
        await this.updateOneIf({ _id: customerId(customer) }, { $addToSet: { items: { $each: items } } });
        // Another order of this customer counted at the same time read the same `before`: whatever
        // it added that this one did not see is paired here (of two such writers the later sees the other).
        const known = new Set([...before, ...items]);
        const concurrent = (await this.boughtBy(customer)).filter((p) => !known.has(p));
        for (const other of concurrent) for (const item of items) await addPair(pairKey(item, other));
      }
      await this.adapter.insert({ _id: eventId(event), kind: "event" }).catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
      return true;
    },

    async describeProduct(this: This, productId: string, fields: { category?: string; active: boolean }) {
      const set = {
        active: fields.active,
        ...(fields.category !== undefined ? { category: fields.category } : {}),
      };
      await this.upsert(itemId(productId), { kind: "item", productId, buyers: [], n: 0 }, set);
    },

    async boughtBy(this: This, customer: string) {
      const doc: CustomerDoc | null = await this.adapter.findById(customerId(customer));
      return doc?.items ?? [];
    },

    async coPurchasesOf(this: This, productIds: string[]) {
      const out = new Map<string, CoPurchase[]>(productIds.map((p) => [p, []]));
      if (!productIds.length) return out;
      const docs: PairDoc[] = await this.adapter.find({
        query: { kind: "pair", $or: [{ a: { $in: productIds } }, { b: { $in: productIds } }] },
        sort: ["-n"],
        limit: 200 * productIds.length,
      });
      for (const d of docs) {
        out.get(d.a)?.push({ other: d.b, common: d.n });
        out.get(d.b)?.push({ other: d.a, common: d.n });
      }
      return out;
    },

    async buyerCounts(this: This, productIds: string[]) {
      const docs: ItemDoc[] = productIds.length
        ? await this.adapter.find({ query: { _id: { $in: productIds.map(itemId) } } })
        : [];
      return new Map(docs.map((d) => [d.productId, d.n]));
    },

    async mostBought(this: This, category: string | undefined, limit: number) {
      const docs: ItemDoc[] = await this.adapter.find({
        query: {
          kind: "item",
          n: { $gt: 0 },
          active: { $ne: false },
          ...(category !== undefined ? { category } : {}),
        },
        sort: ["-n", "productId"],
        limit,
      });
      return docs.map((d) => d.productId);
    },
  },
};
