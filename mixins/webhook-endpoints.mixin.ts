/**
 * The admin's side of outbound webhooks (API.md "Outbound webhooks"): endpoints listed, created
 * (the URL checked against the SSRF rules, the `secret` in the creation's answer only), changed,
 * removed with their log, and each endpoint's delivery log. Every change is broadcast, so every
 * node's intake and dispatcher re-read the endpoints at once.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import type { Actions, Meta } from "../contracts";
import { paging, pageOf } from "../domain/paging";
import { invalidField } from "../domain/rule-error";
import { newSecret, normalizeEvents, toDelivery, toEndpoint, type EndpointDoc } from "../domain/webhooks";
import type { Config } from "../lib/config";
import { checkWebhookUrl, type Resolver } from "../lib/ssrf";
import { KIND_DELIVERY, KIND_ENDPOINT } from "../lib/webhook-dispatcher";
import type { DbMethods, DbVars } from "./db.mixin";

/** Moleculer broadcast (cache invalidation only): an endpoint changed, every node re-reads the list. */
export const ENDPOINTS_CHANGED = "webhooks.endpointsChanged";

export interface WebhookEndpointsVars extends DbVars {
  cfg: Config;
  resolver: Resolver;
  endpointCache?: unknown;
}
export interface WebhookEndpointsMethods {
  checkedUrl(url: string): Promise<string>;
  endpointOf(id: string): Promise<EndpointDoc>;
  /** This node's endpoint list is stale, and every other node's. */
  changed(): void;
}
type This = Service & WebhookEndpointsVars & WebhookEndpointsMethods & DbMethods;
type Params<A extends keyof Actions> = Actions[A]["params"];

const PAGING = {
  page: { type: "number", integer: true, positive: true, convert: true, optional: true },
  pageSize: { type: "number", integer: true, positive: true, convert: true, optional: true },
};
const URL_RULE = { type: "string", min: 1, max: 2048 };
const EVENTS_RULE = { type: "array", items: { type: "string", min: 1, max: 64 }, max: 50 };

const notFound = (id: string) =>
  new Errors.MoleculerClientError("Webhook endpoint not found", 404, "NOT_FOUND", { id });
const forbidden = () => new Errors.MoleculerClientError("Forbidden", 403, "FORBIDDEN");
const admin = (ctx: Context<unknown, Meta>) => {
  if (ctx.meta.user?.role !== "admin") throw forbidden();
};

const schema: ServiceSchema<ServiceSettingSchema, WebhookEndpointsMethods & DbMethods, WebhookEndpointsVars> =
  {
    name: "",
    actions: {
      list: {
        auth: "admin",
        params: { $$strict: true, ...PAGING },
        async handler(ctx: Context<Params<"webhooks.list">, Meta>) {
          admin(ctx);
          const { page, pageSize, offset, limit } = paging(ctx.params.page, ctx.params.pageSize);
          const query = { kind: KIND_ENDPOINT };
          const [docs, total] = await Promise.all([
            this.adapter.find({ query, sort: ["createdAt", "_id"], offset, limit }),
            this.adapter.count({ query }),
          ]);
          return pageOf(docs.map(toEndpoint), total, page, pageSize);
        },
      },
      create: {
        auth: "admin",
        params: {
          $$strict: true,
          url: URL_RULE,
          events: EVENTS_RULE,
          active: { type: "boolean", optional: true },
        },
        async handler(ctx: Context<Params<"webhooks.create">, Meta>) {
          admin(ctx);
          const events = normalizeEvents(ctx.params.events);
          const url = await this.checkedUrl(ctx.params.url);
          const now = Date.now();
          const doc: EndpointDoc & { kind: string } = {
            _id: `wh_${randomUUID()}`,
            kind: KIND_ENDPOINT,
            url,
            events,
            active: ctx.params.active ?? true,
            secret: newSecret(),
            consecutiveFailures: 0,
            deactivatedAt: null,
            deactivationReason: null,
            createdAt: now,
            updatedAt: now,
          };
          await this.adapter.insert(doc);
          this.changed();
          ctx.meta.$statusCode = 201;
          ctx.meta.$location = `/api/webhooks/${doc._id}`;
          return { ...toEndpoint(doc), secret: doc.secret };
        },
      },
      update: {
        auth: "admin",
        params: {
          $$strict: true,
          id: { type: "string", min: 1, max: 100 },
          url: { ...URL_RULE, optional: true },
          events: { ...EVENTS_RULE, optional: true },
          active: { type: "boolean", optional: true },
        },
        async handler(ctx: Context<Params<"webhooks.update">, Meta>) {
          admin(ctx);
          const { id, url, events, active } = ctx.params;
          await this.endpointOf(id);
          const set: Record<string, unknown> = { updatedAt: Date.now() };
          if (events !== undefined) set.events = normalizeEvents(events);
          if (url !== undefined) set.url = await this.checkedUrl(url);
          if (active !== undefined) set.active = active;
          // Switched on again: the count of failures in a row starts over.
          if (active === true)
            Object.assign(set, { consecutiveFailures: 0, deactivatedAt: null, deactivationReason: null });
          const doc = await this.updateOneIf({ _id: id, kind: KIND_ENDPOINT }, { $set: set });
          if (!doc) throw notFound(id);
          this.changed();
          return toEndpoint(doc);
        },
      },
      remove: {
        auth: "admin",
        params: { $$strict: true, id: { type: "string", min: 1, max: 100 } },
        async handler(ctx: Context<Params<"webhooks.remove">, Meta>) {
          admin(ctx);
          const doc = await this.endpointOf(ctx.params.id);
          await this.adapter.removeById(doc._id);
          // Its log goes with it; a request in flight finds no record to update.
          await this.adapter.removeMany({ kind: KIND_DELIVERY, endpointId: doc._id });
          this.changed();
          ctx.meta.$statusCode = 204;
          return null;
        },
      },
      deliveries: {
        auth: "admin",
        params: { $$strict: true, id: { type: "string", min: 1, max: 100 }, ...PAGING },
        async handler(ctx: Context<Params<"webhooks.deliveries">, Meta>) {
          admin(ctx);
          const endpoint = await this.endpointOf(ctx.params.id);
          const { page, pageSize, offset, limit } = paging(ctx.params.page, ctx.params.pageSize);
          const query = { kind: KIND_DELIVERY, endpointId: endpoint._id };
          const [docs, total] = await Promise.all([
            this.adapter.find({ query, sort: ["-at", "_id"], offset, limit }),
            this.adapter.count({ query }),
          ]);
          return pageOf(docs.map(toDelivery), total, page, pageSize);
        },
      },
    },
    methods: {
      /** The URL as given, once it passes the SSRF rules (else 422 on `url`). */
      async checkedUrl(this: This, url: string) {
        const check = await checkWebhookUrl(url, { ...this.cfg.webhooks, resolver: this.resolver });
        if (!check.ok) throw invalidField("url", check.type, `The 'url' field ${check.reason}.`);
        return url;
      },

      async endpointOf(this: This, id: string): Promise<EndpointDoc> {
        const doc = await this.adapter.findById(id);
        if (!doc || doc.kind !== KIND_ENDPOINT) throw notFound(id);
        return doc;
      },

      changed(this: This) {
        this.endpointCache = undefined;
        this.broker.broadcast(ENDPOINTS_CHANGED);
      },
    },
  };

/** Typed above against its host's vars; a host's `mixins` list takes untyped schemas. */
export const WebhookEndpointsMixin = schema as ServiceSchema;
