/**
 * Email and SMS on domain events, each sent at most once per (event, channel) while the store
 * answers and the sending node lives, and never silently dropped. What must stay true:
 * - a delivery record (one id per event and channel) is claimed under a lease with a fence
 *   (lib/delivery-lease.ts) before anything is sent;
 * - a redelivery that finds another worker's live lease comes back after it (nak with a delay),
 *   since that worker may die; it is never acknowledged and forgotten;
 * - a send that succeeded is never repeated because the write recording it failed: the write is
 *   retried on its own; only a node that dies between the two leaves it to be sent again, and
 *   then with the same Message-ID (domain/notifications.ts, messageIdOf);
 * - a stopping node does not wait out a backoff: it gives its leases back and naks its messages
 *   so another node sends them at once;
 * - after NOTIFY_MAX_ATTEMPTS (counted across workers) the delivery is `failed`, listed, counted
 *   and dead-lettered.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Events, type EventEnvelope, type Meta, type UserContact } from "../contracts";
import {
  backoffMs,
  isLastAttempt,
  isTransient,
  messageIdOf,
  planDeliveries,
  toDelivery,
  type Channel,
  type Planned,
} from "../domain/notifications";
import { paging, pageOf } from "../domain/paging";
import { config, type Config } from "../lib/config";
import { publish } from "../lib/channels";
import { DeliveryLeases, type Held, type InFlightMessage } from "../lib/delivery-lease";
import { renderMessage } from "../lib/notification-templates";
import { StopAware } from "../lib/stop-aware";
import { createMessaging, type Email, type Messaging, type Sms } from "../lib/messaging";
import { DbMixin } from "../mixins/db.mixin";
import {
  ERASURE_CHANNELS,
  NotificationContactsMixin,
  type ContactMethods,
} from "../mixins/notification-contacts.mixin";

const DELIVERIES = "notifications.deliveries.total";
/**
 * JetStream redelivers a message this long after its handler last said it was working: a killed
 * node's deliveries come back within seconds. Heartbeats come well inside it.
 */
const ACK_WAIT_MS = 10_000;
/** A redelivery that finds a live lease comes back just after the lease ends. */
const AFTER_LEASE_MS = 200;

/** How a message's handling ended: ack it, or nak it now or after a delay. */
type Outcome = { kind: "finished" } | { kind: "givenBack" } | { kind: "later"; inMs: number };

interface Vars {
  adapter: any;
  updateOneIf(filter: object, update: object): Promise<any | null>;
  dbPing(): Promise<boolean>;
  cfg: Config;
  messaging: Messaging;
  leases: DeliveryLeases;
  /** Backoffs and write retries that end as soon as the broker starts stopping. */
  shutdown: StopAware;
  /** Messages being handled, which `stopped` waits for (their leases are given back first). */
  inFlight: Set<Promise<void>>;
}
interface Methods extends ContactMethods {
  notify(evt: EventEnvelope, raw?: InFlightMessage): Promise<void>;
  deliver(evt: EventEnvelope, userId: string, p: Planned, raw?: InFlightMessage): Promise<Outcome>;
  attempt(evt: EventEnvelope, p: Planned, held: Held): Promise<Outcome>;
  send(channel: Channel, message: Email | Sms): Promise<void>;
}
type This = Service & Vars & Methods;

/** Durable subscriptions (@moleculer/channels reads `channels`, which moleculer's types don't know). */
type Channels = Record<
  string,
  {
    group: string;
    maxInFlight: number;
    nats: object;
    handler(this: This, ctx: Context<EventEnvelope>, raw?: InFlightMessage): Promise<void>;
  }
>;

const NotificationsService: ServiceSchema<ServiceSettingSchema, Methods, Vars> & { channels: Channels } = {
  name: "notifications",
  mixins: [
    DbMixin({
      collection: "deliveries",
      indexes: [
        { fields: { eventId: 1, channel: 1 }, unique: true },
        { fields: { userId: 1, createdAt: -1 } },
      ],
    }),
    NotificationContactsMixin,
  ],
  actions: {
    list: {
      auth: "required",
      params: {
        $$strict: true,
        page: { type: "number", integer: true, positive: true, convert: true, optional: true },
        pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
      },
      async handler(ctx: Context<{ page?: number; pageSize?: number }, Meta>) {
        const { page, pageSize, offset, limit } = paging(ctx.params.page, ctx.params.pageSize);
        const query = { userId: ctx.meta.user!.id, status: { $in: ["sent", "failed", "skipped"] } };
        const [docs, total] = await Promise.all([
          this.adapter.find({ query, sort: ["-createdAt"], offset, limit }),
          this.adapter.count({ query }),
        ]);
        return pageOf(docs.map(toDelivery), total, page, pageSize);
      },
    },
    health: {
      visibility: "public",
      async handler() {
        return { service: "notifications", database: await this.dbPing().catch(() => false) };
      },
    },
  },
  channels: Object.fromEntries(
    [
      Events.userRegistered,
      Events.orderPlaced,
      Events.orderPaymentFailed,
      Events.orderCancelled,
      Events.returnRequested,
      Events.orderRefunded,
    ].map((event) => [
      event,
      {
        group: "notifications",
        // A message waiting out a retry must not hold up the others.
        maxInFlight: 10,
        nats: { consumerOptions: { config: { ack_wait: ACK_WAIT_MS * 1_000_000 } } },
        async handler(ctx, raw) {
          const run = this.notify(ctx.params, raw);
          this.inFlight.add(run);
          try {
            await run;
          } finally {
            this.inFlight.delete(run);
          }
        },
      },
    ]),
  ),
  methods: {
    async notify(evt, raw) {
      if (this.shutdown.stopping) return void raw?.nak?.();
      const data: any = evt.data;
      const user: UserContact | null = await this.contactOf(data);
      if (!user)
        return this.logger.warn(
          `${evt.type} ${evt.eventId}: recipient ${data.userId ?? `of order ${data.orderId}`} not found; nothing sent.`,
        );
      const outcomes: Outcome[] = [];
      for (const p of planDeliveries(evt, user)) outcomes.push(await this.deliver(evt, user.id, p, raw));
      const later = outcomes.filter((o): o is Outcome & { kind: "later" } => o.kind === "later");
      if (outcomes.some((o) => o.kind === "givenBack")) return void raw?.nak?.();
      if (!later.length) return;
      const inMs = Math.max(...later.map((o) => o.inMs));
      if (raw?.nak) return raw.nak(inMs);
      // The in-process adapter never redelivers: wait for the lease here instead.
      if (await this.shutdown.pause(inMs)) return this.notify(evt, raw);
    },

    /** One planned message: claimed, then sent, or left for whoever holds it. */
    async deliver(evt, userId, p, raw) {
      if (this.shutdown.stopping) return { kind: "givenBack" };
      // A template problem fails here, before any record or attempt.
      if (p.enabled) renderMessage(p);
      const claim = await this.leases.claim({
        eventId: evt.eventId,
        channel: p.channel,
        template: p.template,
        to: p.to,
        userId,
        status: p.enabled ? "pending" : "skipped",
        createdAt: Date.now(),
      });
      if (claim.kind === "skipped")
        this.broker.metrics.increment(DELIVERIES, { channel: p.channel, status: "skipped" });
      if (claim.kind === "busy") return { kind: "later", inMs: claim.retryInMs + AFTER_LEASE_MS };
      if (claim.kind !== "held") return { kind: "finished" };
      const beat = this.leases.keepAlive(
        claim.held,
        raw,
        (err: any) => this.logger.warn(`Renewing the lease of ${claim.held.id} failed (${err?.message}).`),
        Math.min(this.leases.leaseMs, ACK_WAIT_MS) / 3,
      );
      try {
        return await this.attempt(evt, p, claim.held);
      } finally {
        beat.stop();
      }
    },

    /** Attempts, with backoff, until sent, failed, taken over by another worker or given back. */
    async attempt(evt, p, held) {
      const message = renderMessage(p);
      if (p.channel === "email") (message as Email).messageId = messageIdOf(evt.eventId, p.channel);
      for (let attempt = held.attempts + 1; ; attempt++) {
        // Recorded before the send, so a takeover continues the count (and a lost lease shows).
        const mine = await this.shutdown.persist(
          `attempt ${attempt} of ${held.id}`,
          () => this.leases.startAttempt(held, attempt),
          this.cfg.notifyBackoffMs,
        );
        if (mine === undefined) return { kind: "givenBack" };
        if (!mine) {
          this.logger.info(`${held.id}: another worker took the delivery over; leaving it to it.`);
          return { kind: "finished" };
        }
        try {
          await this.send(p.channel, message);
        } catch (err: any) {
          const last = isLastAttempt(attempt, this.cfg.notifyMaxAttempts, isTransient(err));
          this.logger.warn(
            `${p.channel} ${p.template} for ${evt.eventId}: attempt ${attempt} failed (${err?.message})${last ? "; giving up" : ""}`,
          );
          if (last) {
            const error = String(err?.message ?? err);
            const marked = await this.shutdown.persist(
              `${held.id} failed`,
              () => this.leases.markFailed(held, error),
              this.cfg.notifyBackoffMs,
            );
            if (marked === undefined) return { kind: "givenBack" };
            if (marked) this.broker.metrics.increment(DELIVERIES, { channel: p.channel, status: "failed" });
            await publish(this.broker, "notifications.dead", {
              eventId: evt.eventId,
              channel: p.channel,
              error,
            });
            return { kind: "finished" };
          }
          if (await this.shutdown.pause(backoffMs(attempt, this.cfg.notifyBackoffMs))) continue;
          await this.leases
            .release(held)
            .catch((e: any) => this.logger.warn(`Releasing ${held.id}: ${e?.message}`));
          return { kind: "givenBack" };
        }
        // Sent: from here on nothing sends it again, whatever the store answers.
        const marked = await this.shutdown.persist(
          `${held.id} sent`,
          () => this.leases.markSent(held),
          this.cfg.notifyBackoffMs,
        );
        if (marked === undefined) {
          this.logger.error(
            `${held.id} was sent but could not be recorded; its lease lapses and another node may send it again.`,
          );
          return { kind: "givenBack" };
        }
        if (marked) this.broker.metrics.increment(DELIVERIES, { channel: p.channel, status: "sent" });
        return { kind: "finished" };
      }
    },

    send(channel, message) {
      return channel === "sms"
        ? this.messaging.sendSms(message as Sms)
        : this.messaging.sendEmail(message as Email);
    },
  },
  created() {
    this.cfg = config();
    this.messaging = createMessaging(this.cfg);
    this.leases = new DeliveryLeases(
      {
        insert: (doc) => this.adapter.insert(doc),
        findOne: (query) => this.adapter.findOne(query),
        updateOneIf: (filter, update) => this.updateOneIf(filter, update),
      },
      this.broker.nodeID,
      this.cfg.notifyLeaseMs,
    );
    this.shutdown = new StopAware(this.broker, this.logger);
    this.inFlight = new Set();
    this.broker.metrics.register({
      type: "counter",
      name: DELIVERIES,
      labelNames: ["channel", "status"],
      description: "Notification deliveries by channel and outcome (sent, failed, skipped)",
    });
  },
  started() {
    this.shutdown.start();
  },
  async stopped() {
    this.shutdown.stop();
    await Promise.allSettled([...this.inFlight]);
    this.messaging.close();
  },
};

// Erasure beside the notifying channels (a mixin's `channels` would be replaced by the service's).
Object.assign(NotificationsService.channels, ERASURE_CHANNELS);

export default NotificationsService;
