/**
 * Recommendations learned from the shop's own orders (API.md "Recommendations and order risk"):
 * item-to-item collaborative filtering over co-purchases (domain/recommendations.ts), counted
 * from `order.placed` on the durable channels in this service's own consumer group, with the
 * product events keeping each product's category and whether it may be shown. Popularity in the
 * product's category (or overall, for a customer) fills what the co-purchases cannot.
 *
 * What must stay true:
 * - a list never holds the product itself, an inactive, removed or out-of-stock product (checked
 *   against the catalogue when answering), and a customer's list nothing they bought;
 * - an event counts once however often it is delivered (mixins/co-purchase-store.mixin.ts);
 * - the counts are rebuilt from the stream when the collection is empty: a group's first
 *   subscription starts at the stream's first message (moleculer.config.ts), and a group whose
 *   store was wiped is deleted at start so it starts there again.
 */
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { connect } from "nats";
import {
  Events,
  type EventEnvelope,
  type Meta,
  type Product,
  type ProductEventData,
  type RecommendationStrategy,
  type Recommendations,
} from "../contracts";
import { MAX_RECOMMENDATIONS, fillWith, forCustomer, similarTo } from "../domain/recommendations";
import { streamName } from "../lib/channels";
import { config } from "../lib/config";
import { call } from "../lib/typed";
import { DbMixin, type DbMethods, type DbVars } from "../mixins/db.mixin";
import { CoPurchaseStoreMixin, type CoPurchaseMethods } from "../mixins/co-purchase-store.mixin";

const GROUP = "recommendations";
/** Candidates read beyond the 12 shown, for those the catalogue check drops. */
const CANDIDATES = 40;
const PRODUCT_EVENTS = [Events.productCreated, Events.productUpdated, Events.productDeleted] as const;
const CHANNELS = [Events.orderPlaced, ...PRODUCT_EVENTS];

interface Methods extends DbMethods, CoPurchaseMethods {
  /** The first `MAX_RECOMMENDATIONS` of `ids` the catalogue shows, in order, none of `excluded`. */
  shown(ctx: Context, ids: string[], excluded: Set<string>): Promise<Product[]>;
  onEvent(evt: EventEnvelope): Promise<void>;
  rebuildIfEmpty(): Promise<void>;
}

type Channels = Record<
  string,
  { group: string; maxInFlight: number; handler(ctx: Context<EventEnvelope>): Promise<void> }
>;

const RecommendationsService: ServiceSchema<ServiceSettingSchema, Methods, DbVars> & { channels: Channels } =
  {
    name: "recommendations",
    mixins: [
      DbMixin({
        collection: "recommendations",
        indexes: [
          { fields: { a: 1, n: -1 }, sparse: true },
          { fields: { b: 1, n: -1 }, sparse: true },
          { fields: { category: 1, n: -1 }, sparse: true },
        ],
      }),
      CoPurchaseStoreMixin,
    ],

    actions: {
      forProduct: {
        params: { $$strict: true, id: { type: "string", min: 1, max: 100 } },
        async handler(ctx: Context<{ id: string }, Meta>): Promise<Recommendations> {
          const { id } = ctx.params;
          // 404 for an unknown product, as GET /api/products/:id answers.
          const product = await call(ctx, "products.get", { id });
          const [pairs, popular] = await Promise.all([
            this.coPurchasesOf([id]),
            this.mostBought(product.category, CANDIDATES),
          ]);
          const together = pairs.get(id)!;
          const counts = await this.buyerCounts([id, ...together.map((c) => c.other)]);
          const similar = similarTo(id, together, (p) => counts.get(p) ?? 0)
            .slice(0, CANDIDATES)
            .map((s) => s.productId);
          const rows = await this.shown(ctx, fillWith(similar, popular, CANDIDATES * 2), new Set([id]));
          const fromModel = new Set(similar);
          const strategy: RecommendationStrategy = rows.some((p) => fromModel.has(p.id))
            ? "bought_together"
            : "popular_in_category";
          return { rows, strategy };
        },
      },

      forUser: {
        auth: "required",
        params: { $$strict: true },
        async handler(ctx: Context<Record<string, never>, Meta>): Promise<Recommendations> {
          const bought = await this.boughtBy(ctx.meta.user!.id);
          const mine = bought.slice(-50);
          const [pairs, popular] = await Promise.all([
            this.coPurchasesOf(mine),
            this.mostBought(undefined, CANDIDATES + bought.length),
          ]);
          const others = [...new Set([...pairs.values()].flat().map((c) => c.other))];
          const counts = await this.buyerCounts([...mine, ...others]);
          const picks = forCustomer(
            mine,
            (p) => pairs.get(p) ?? [],
            (p) => counts.get(p) ?? 0,
          )
            .slice(0, CANDIDATES)
            .map((s) => s.productId);
          const rows = await this.shown(ctx, fillWith(picks, popular, CANDIDATES * 2), new Set(bought));
          const fromModel = new Set(picks);
          return { rows, strategy: rows.some((p) => fromModel.has(p.id)) ? "for_you" : "popular" };
        },
      },

      health: {
        visibility: "public",
        async handler() {
          return { service: "recommendations", database: await this.dbPing().catch(() => false) };
        },
      },
    },

    channels: Object.fromEntries(
      CHANNELS.map((event) => [
        event,
        {
          group: GROUP,
          maxInFlight: 5,
          async handler(this: any, ctx: Context<EventEnvelope>) {
            await this.onEvent(ctx.params);
          },
        },
      ]),
    ),

    methods: {
      async onEvent(evt: EventEnvelope) {
        if (evt.type === Events.orderPlaced) {
          const data = evt.data as EventEnvelope<"order.placed">["data"];
          // A guest's order (no account) is its own customer.
          const customer = data.userId ?? `order:${data.orderId}`;
          await this.countOrder(
            evt.eventId,
            customer,
            data.items.map((l) => l.productId),
          );
          return;
        }
        if (evt.type === Events.productDeleted) {
          const { productId } = evt.data as { productId: string };
          return this.describeProduct(productId, { active: false });
        }
        const p = evt.data as ProductEventData;
        await this.describeProduct(p.productId, { category: p.category, active: p.active });
      },

      async shown(ctx: Context, ids: string[], excluded: Set<string>) {
        const candidates = ids.filter((id) => !excluded.has(id));
        const rows: Product[] = [];
        // In slices, so a long list of candidates costs no more reads than needed.
        for (
          let i = 0;
          i < candidates.length && rows.length < MAX_RECOMMENDATIONS;
          i += MAX_RECOMMENDATIONS
        ) {
          const slice = candidates.slice(i, i + MAX_RECOMMENDATIONS);
          const found = await Promise.all(
            slice.map((id) =>
              call(ctx, "products.get", { id }).catch((err) =>
                err?.code === 404 ? null : Promise.reject(err),
              ),
            ),
          );
          for (const p of found)
            if (p && p.active && p.available > 0 && rows.length < MAX_RECOMMENDATIONS) rows.push(p);
        }
        return rows;
      },

      async rebuildIfEmpty() {
        const cfg = config();
        if (!cfg.transporter || (await this.adapter.count({ query: {} })) > 0) return;
        const adapter = (this.broker as any).channelAdapter;
        if (!adapter?.addPrefixTopic) return;
        const nc = await connect({ servers: cfg.transporter });
        try {
          const jsm = await nc.jetstreamManager();
          for (const channel of CHANNELS) {
            const stream = streamName(adapter.addPrefixTopic(channel));
            const gone = await jsm.consumers.delete(stream, GROUP).catch(() => false);
            if (gone)
              this.logger.info(
                `No counts stored: the ${channel} group starts again from the stream's first event.`,
              );
          }
        } finally {
          await nc.close();
        }
      },
    },

    async started() {
      // Before the channels middleware subscribes (it does once every service has started).
      await this.rebuildIfEmpty();
    },
  };

export default RecommendationsService;
