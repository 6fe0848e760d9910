/**
 * Email and SMS on domain events, each sent at most once per (event, channel): a delivery record
 * is claimed (unique index) before anything is sent, so a redelivered event sends nothing twice.
 * Transient failures are retried with exponential backoff while the channel message stays
 * unacknowledged; after NOTIFY_MAX_ATTEMPTS the delivery is `failed` and dead-lettered.
 */
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import { Events, type EventEnvelope, type Meta, type UserContact } from "../contracts";
import { backoffMs, formatMoney, isTransient, render, type Vars } from "../domain/notifications";
import { paging, pageOf } from "../domain/paging";
import { config } from "../lib/config";
import { publish } from "../lib/channels";
import { call } from "../lib/typed";
import { createMessaging, type Email, type Sms } from "../lib/messaging";
import { DbMixin } from "../mixins/db.mixin";
import { setTimeout as sleep } from "node:timers/promises";

const cfg = config();
const DELIVERIES = "notifications.deliveries.total";
// templates/ sits at the project root: one level up from services/, two from dist/services/.
const TEMPLATES = [
  path.join(__dirname, "..", "templates"),
  path.join(__dirname, "..", "..", "templates"),
].find((d) => fs.existsSync(d))!;
const LEASE_MS = 120_000;

type Channel = "email" | "sms";
interface Planned {
  channel: Channel;
  template: string;
  to: string | null;
  enabled: boolean;
  vars: Vars;
}

function template(name: string): string {
  return fs.readFileSync(path.join(TEMPLATES, name), "utf8").trimEnd();
}

export function toDelivery(d: any) {
  return {
    id: d._id,
    channel: d.channel,
    template: d.template,
    to: d.to,
    status: d.status,
    eventId: d.eventId,
    createdAt: new Date(d.createdAt).toISOString(),
  };
}

const NotificationsService = {
  name: "notifications",
  mixins: [
    DbMixin({
      collection: "deliveries",
      indexes: [
        { fields: { eventId: 1, channel: 1 }, unique: true },
        { fields: { userId: 1, createdAt: -1 } },
      ],
    }),
  ],
  actions: {
    list: {
      auth: "required",
      params: {
        $$strict: true,
        page: { type: "number", integer: true, positive: true, convert: true, optional: true },
        pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
      },
      async handler(this: any, ctx: Context<{ page?: number; pageSize?: number }, Meta>) {
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
      async handler(this: any) {
        return { service: "notifications", database: await this.dbPing().catch(() => false) };
      },
    },
  },
  channels: Object.fromEntries(
    [Events.userRegistered, Events.orderPlaced, Events.orderPaymentFailed, Events.orderCancelled].map(
      (event) => [
        event,
        {
          group: "notifications",
          // A message waiting out a retry must not hold up the others.
          maxInFlight: 10,
          async handler(this: any, ctx: Context<EventEnvelope>, raw: any) {
            await this.notify(ctx.params, raw);
          },
        },
      ],
    ),
  ),
  methods: {
    async notify(this: any, evt: EventEnvelope, raw: any) {
      const data: any = evt.data;
      const user: UserContact | null = await call(this.broker, "users.contact", { id: data.userId }).catch(
        (err: any) => {
          if (err?.code === 404) return null;
          throw err;
        },
      );
      if (!user)
        return this.logger.warn(`${evt.type} ${evt.eventId}: user ${data.userId} not found; nothing sent.`);
      for (const p of this.plan(evt, user) as Planned[]) await this.deliver(evt, user.id, p, raw);
    },

    /** What an event sends, to whom, and whether the user's preferences allow it. */
    plan(evt: EventEnvelope, user: UserContact): Planned[] {
      const data: any = evt.data;
      const money = (n: number) => formatMoney(n, data.currency ?? "USD");
      const base = { name: user.name, email: user.email, orderId: data.orderId, reason: data.reason };
      const email = (name: string, vars: Vars = {}): Planned => ({
        channel: "email",
        template: name,
        to: user.email,
        enabled: user.notifications.email,
        vars: { ...base, ...vars },
      });
      switch (evt.type) {
        case Events.userRegistered:
          return [email("welcome")];
        case Events.orderPlaced: {
          const items = (data.items ?? []).map((i: any) => ({
            ...i,
            unitPrice: money(i.unitPrice),
            lineTotal: money(i.lineTotal),
          }));
          const vars = { items, total: money(data.total), count: items.length };
          return [
            email("order-confirmation", vars),
            {
              channel: "sms",
              template: "order-confirmation",
              to: user.phone ?? null,
              enabled: Boolean(user.phone) && user.notifications.sms,
              vars: { ...base, ...vars },
            },
          ];
        }
        case Events.orderPaymentFailed:
          return [email("payment-failed")];
        case Events.orderCancelled:
          return [email("order-cancelled")];
        default:
          return [];
      }
    },

    async deliver(this: any, evt: EventEnvelope, userId: string, p: Planned, raw: any) {
      const doc = await this.claim(evt, userId, p);
      if (!doc) return;
      const message = this.render(p);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.send(p.channel, message);
          await this.updateOneIf(
            { _id: doc._id },
            { $set: { status: "sent", attempts: attempt, sentAt: Date.now() } },
          );
          this.broker.metrics.increment(DELIVERIES, { channel: p.channel, status: "sent" });
          return;
        } catch (err: any) {
          const transient = isTransient(err);
          const last = !transient || attempt >= cfg.notifyMaxAttempts;
          this.logger.warn(
            `${p.channel} ${p.template} for ${evt.eventId}: attempt ${attempt} failed (${err?.message})${last ? "; giving up" : ""}`,
          );
          if (last) {
            await this.updateOneIf(
              { _id: doc._id },
              { $set: { status: "failed", attempts: attempt, error: String(err?.message ?? err) } },
            );
            this.broker.metrics.increment(DELIVERIES, { channel: p.channel, status: "failed" });
            await publish(this.broker, "notifications.dead", {
              eventId: evt.eventId,
              channel: p.channel,
              error: String(err?.message),
            });
            return;
          }
          // Stopping: leave the message unacknowledged; it is redelivered and the lease resumed.
          if (this.stopping) throw err;
          raw?.working?.();
          await sleep(backoffMs(attempt, cfg.notifyBackoffMs));
          await this.updateOneIf({ _id: doc._id }, { $set: { leaseUntil: Date.now() + LEASE_MS } });
        }
      }
    },

    /**
     * The delivery record to work on, or null when there is nothing to send: already sent,
     * failed or skipped, or being sent by another consumer right now.
     */
    async claim(this: any, evt: EventEnvelope, userId: string, p: Planned) {
      const now = Date.now();
      const doc = {
        _id: randomUUID(),
        eventId: evt.eventId,
        channel: p.channel,
        template: p.template,
        to: p.to,
        userId,
        status: p.enabled ? "pending" : "skipped",
        attempts: 0,
        createdAt: now,
        leaseUntil: now + LEASE_MS,
      };
      try {
        await this.adapter.insert(doc);
        if (!p.enabled) this.broker.metrics.increment(DELIVERIES, { channel: p.channel, status: "skipped" });
        return p.enabled ? doc : null;
      } catch (err: any) {
        if (!/duplicate|unique|E11000/i.test(String(err?.message ?? err?.errorType ?? ""))) throw err;
      }
      // Seen before: resume only a pending delivery whose previous worker let its lease lapse.
      return this.updateOneIf(
        { eventId: evt.eventId, channel: p.channel, status: "pending", leaseUntil: { $lt: now } },
        { $set: { leaseUntil: now + LEASE_MS } },
      );
    },

    /** The message of a planned delivery; a template problem fails here, before any attempt. */
    render(p: Planned): Email | Sms {
      if (p.channel === "sms")
        return { to: p.to!, body: render(template(`${p.template}.sms.txt`), p.vars, false) };
      return {
        to: p.to!,
        subject: render(template(`${p.template}.subject.txt`), p.vars, false),
        text: render(template(`${p.template}.txt`), p.vars, false),
        html: render(template(`${p.template}.html`), p.vars, true),
      };
    },

    send(this: any, channel: Channel, message: Email | Sms) {
      return channel === "sms" ? this.messaging.sendSms(message) : this.messaging.sendEmail(message);
    },
  },
  created(this: any) {
    this.messaging = createMessaging(cfg);
    this.broker.metrics.register({
      type: "counter",
      name: DELIVERIES,
      labelNames: ["channel", "status"],
      description: "Notification deliveries by channel and outcome (sent, failed, skipped)",
    });
  },
  stopped(this: any) {
    this.stopping = true;
    this.messaging.close();
  },
} as ServiceSchema;

export default NotificationsService;
