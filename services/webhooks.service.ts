/**
 * Outbound webhooks (API.md "Outbound webhooks"): admins register endpoints; every domain event
 * of a type an endpoint lists, happening after its creation, is POSTed to it signed, retried with
 * backoff, logged per endpoint. What must stay true:
 * - the durable channels are consumed in a group of our own ("webhooks", from the start of each
 *   stream like the Kafka bridge's); a message is acknowledged only once a delivery record exists
 *   for every endpoint it goes to, so a killed node loses nothing: the message comes back, or
 *   its records are in the store, where any node's dispatcher resumes them (leases, fences);
 * - the intake never waits on a receiver, so no endpoint slows the channels, the Kafka bridge or
 *   the checkout; sending is lib/webhook-dispatcher.ts, bounded per endpoint and in total;
 * - a URL is checked (https, public addresses: lib/ssrf.ts) when saved and again, after DNS,
 *   before every attempt, which then connects to the address checked;
 * - `secret` leaves the service once, in the answer to the creation.
 */
import { type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import { WEBHOOK_EVENT_TYPES, WebhookMetrics, type EventEnvelope } from "../contracts";
import { isDuplicateKey } from "../domain/catalog";
import { envelopeBody, eventBodyId, newDelivery, wants, type EndpointDoc } from "../domain/webhooks";
import { streamName } from "../lib/channels";
import { config } from "../lib/config";
import { createMessaging, type Messaging } from "../lib/messaging";
import { checkWebhookUrl, systemResolver } from "../lib/ssrf";
import { StopAware } from "../lib/stop-aware";
import { KIND_DELIVERY, KIND_ENDPOINT, KIND_EVENT, WebhookDispatcher } from "../lib/webhook-dispatcher";
import { postWebhook, WebhookConnections } from "../lib/webhook-sender";
import { LocalWatermark, StreamWatermark } from "../lib/webhook-watermark";
import { DbMixin, type DbMethods } from "../mixins/db.mixin";
import { RuleErrorsMixin } from "../mixins/rule-errors.mixin";
import { WebhookAdminNotices } from "../lib/webhook-notices";
import {
  ENDPOINTS_CHANGED,
  WebhookEndpointsMixin,
  type WebhookEndpointsMethods,
  type WebhookEndpointsVars,
} from "../mixins/webhook-endpoints.mixin";

const GROUP = "webhooks";
const ENDPOINTS_TTL_MS = 1000;
/** JetStream redelivers a message this long after it was taken, when its node died before the ack. */
const ACK_WAIT_MS = 10_000;

interface Vars extends WebhookEndpointsVars {
  shutdown: StopAware;
  dispatcher: WebhookDispatcher;
  local: LocalWatermark;
  stream: StreamWatermark;
  notices: WebhookAdminNotices;
  messaging: Messaging;
  connections: WebhookConnections;
  intakes: Set<Promise<void>>;
  endpointCache?: { loadedAt: number; list: Promise<EndpointDoc[]> };
  backlogTimer?: NodeJS.Timeout;
}
interface Methods extends DbMethods, WebhookEndpointsMethods {
  intake(evt: EventEnvelope, raw?: any): Promise<void>;
  activeEndpoints(): Promise<EndpointDoc[]>;
  refreshBacklog(): Promise<void>;
}
type This = Service & Vars & Methods;

type Channels = Record<
  string,
  {
    group: string;
    maxInFlight: number;
    nats: object;
    handler(this: This, ctx: Context<EventEnvelope>, raw?: any): Promise<void>;
  }
>;

const WebhooksService: ServiceSchema<ServiceSettingSchema, Methods, Vars> & { channels: Channels } = {
  name: "webhooks",
  mixins: [
    DbMixin({
      collection: "webhooks",
      // On NeDB only the two sparse ones: the pending deliveries and the endpoints (`active`).
      indexes: [
        { fields: { kind: 1, endpointId: 1, at: 1 }, mongoOnly: true },
        { fields: { pendingOf: 1, at: 1 }, sparse: true },
        { fields: { active: 1 }, sparse: true },
      ],
    }),
    RuleErrorsMixin,
    WebhookEndpointsMixin,
  ],
  actions: {
    health: {
      visibility: "public",
      async handler() {
        return { service: "webhooks", database: await this.dbPing().catch(() => false) };
      },
    },
  },
  events: {
    [ENDPOINTS_CHANGED]: {
      handler(this: This) {
        this.endpointCache = undefined;
        this.dispatcher.wake();
      },
    },
  },
  channels: Object.fromEntries(
    WEBHOOK_EVENT_TYPES.map((event) => [
      event,
      {
        group: GROUP,
        // Recording is a few inserts: many at once, so a busy stream is taken in quickly.
        maxInFlight: 100,
        nats: { consumerOptions: { config: { ack_wait: ACK_WAIT_MS * 1_000_000 } } },
        async handler(ctx, raw) {
          const run = this.intake(ctx.params, raw);
          this.intakes.add(run);
          try {
            await run;
          } finally {
            this.intakes.delete(run);
          }
        },
      },
    ]),
  ),
  methods: {
    /** Records the event's deliveries (one per endpoint that wants it); the channel acks after. */
    async intake(evt, raw) {
      if (this.shutdown.stopping) return void raw?.nak?.();
      const jetstream = typeof raw?.info?.timestampNanos === "number";
      const arrived = jetstream ? undefined : this.local.arrive();
      try {
        const at = arrived ?? Math.floor(raw.info.timestampNanos / 1000);
        const endpoints = await this.shutdown.persist(
          `endpoints for ${evt.eventId}`,
          () => this.activeEndpoints(),
          200,
        );
        if (endpoints === undefined) return void raw?.nak?.();
        const targets = endpoints.filter((e) => wants(e, evt));
        if (!targets.length) return;
        const body = envelopeBody(evt);
        const now = Date.now();
        const docs = targets.map((e) => ({ ...newDelivery(e._id, evt, at, now), kind: KIND_DELIVERY }));
        // The body once, first (a delivery never exists without it), then the deliveries: one
        // write for all; a redelivered event (some already recorded) one record at a time.
        const records = [{ _id: eventBodyId(evt.eventId), kind: KIND_EVENT, body, createdAt: now }, ...docs];
        const insert = (d: object | object[]) =>
          this.adapter[Array.isArray(d) ? "insertMany" : "insert"](d).then(
            () => true,
            (err: unknown) => (isDuplicateKey(err) ? false : Promise.reject(err)),
          );
        const written = await this.shutdown.persist(
          `deliveries of ${evt.eventId}`,
          async () => (await insert(records)) || (await Promise.all(records.map(insert)), true),
          200,
        );
        // Not all recorded before the stop: the message comes back to whoever runs next.
        if (written === undefined) return void raw?.nak?.();
        this.dispatcher.wake();
      } finally {
        if (arrived !== undefined) this.local.done(arrived);
      }
    },

    /** The active endpoints, read at most once a second (and again after any change). */
    activeEndpoints() {
      const cached = this.endpointCache;
      if (cached && Date.now() - cached.loadedAt < ENDPOINTS_TTL_MS) return cached.list;
      const list: Promise<EndpointDoc[]> = this.adapter.find({
        query: { kind: KIND_ENDPOINT, active: true },
      });
      const entry = { loadedAt: Date.now(), list };
      this.endpointCache = entry;
      list.catch(() => this.endpointCache === entry && (this.endpointCache = undefined));
      return list;
    },

    /** Pending deliveries per endpoint, for the backlog gauge. */
    async refreshBacklog() {
      const endpoints: EndpointDoc[] = await this.adapter.find({ query: { kind: KIND_ENDPOINT } });
      for (const e of endpoints) {
        const n = await this.adapter.count({ query: { pendingOf: e._id } });
        this.broker.metrics.set(WebhookMetrics.backlog, n, { endpoint: e._id });
      }
    },
  },
  created() {
    const cfg = (this.cfg = config());
    this.resolver = systemResolver;
    this.shutdown = new StopAware(this.broker, this.logger);
    this.intakes = new Set();
    this.local = new LocalWatermark();
    const adapter = () => (this.broker as any).channelAdapter;
    this.stream = new StreamWatermark(
      () => adapter()?.manager,
      () => WEBHOOK_EVENT_TYPES.map((e) => streamName(adapter().addPrefixTopic(e))),
      GROUP,
    );
    const metrics = this.broker.metrics;
    metrics.register({
      type: "counter",
      name: WebhookMetrics.deliveries,
      labelNames: ["status"],
      description:
        "Webhook attempts by outcome: delivered, retried (failed, another attempt due), failed (no attempt left)",
    });
    metrics.register({
      type: "histogram",
      name: WebhookMetrics.latency,
      labelNames: ["status"],
      buckets: [10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      unit: "millisecond",
      description: "Time from request to answer (or timeout) of a webhook attempt",
    } as any);
    metrics.register({
      type: "gauge",
      name: WebhookMetrics.backlog,
      labelNames: ["endpoint"],
      description: "Pending webhook deliveries per endpoint",
    });
    this.messaging = createMessaging(cfg);
    this.connections = new WebhookConnections();
    this.notices = new WebhookAdminNotices(
      {
        find: (q) => this.adapter.find(q),
        updateOneIf: (f, u) => this.updateOneIf(f, u),
      },
      cfg.admin.email,
      this.messaging,
      this.logger,
    );
    this.dispatcher = new WebhookDispatcher({
      store: {
        activeEndpoints: () =>
          this.sortedOf("active", true, { where: { kind: KIND_ENDPOINT }, sort: ["createdAt"] }),
        pendingOf: (id, limit) => this.sortedOf("pendingOf", id, { sort: ["at", "_id"], limit }),
        bodyOf: async (eventId) => (await this.adapter.findById(eventBodyId(eventId)))?.body ?? null,
        findById: (id) => this.adapter.findById(id),
        updateOneIf: (f, u) => this.updateOneIf(f, u),
      },
      owner: this.broker.nodeID,
      perEndpoint: cfg.webhooks.perEndpoint,
      maxInFlight: cfg.webhooks.maxInFlight,
      timeoutMs: cfg.webhooks.timeoutMs,
      backoffMs: cfg.webhooks.backoffMs,
      watermark: () => (adapter()?.manager ? this.stream.get() : this.local.get()),
      checkUrl: (url) => checkWebhookUrl(url, { ...this.cfg.webhooks, resolver: this.resolver }),
      post: (url, target, body, headers) =>
        postWebhook(url, target, body, headers, cfg.webhooks.timeoutMs, this.connections),
      deactivated: () => this.notices.sendSoon(),
      outcome: (status, ms) => {
        metrics.increment(WebhookMetrics.deliveries, { status });
        metrics.observe(WebhookMetrics.latency, ms, { status });
      },
      logger: this.logger,
    });
  },
  started() {
    this.shutdown.start();
    // Records left pending by a stopped or killed node are picked up here (once their leases lapse).
    this.dispatcher.start();
    this.notices.start();
    this.backlogTimer = setInterval(() => void this.refreshBacklog().catch(() => null), 5000);
    this.backlogTimer.unref();
  },
  async stopped() {
    this.shutdown.stop();
    clearInterval(this.backlogTimer);
    this.notices.stop();
    await Promise.allSettled([...this.intakes]);
    await this.dispatcher.stop(2000);
    this.connections.close();
    this.messaging.close();
  },
};

export default WebhooksService;
