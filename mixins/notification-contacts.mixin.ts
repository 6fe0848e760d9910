/**
 * Who a notification goes to, and personal data, for the notifications service. A user's event
 * goes to the user's contact; a guest order's (userId null) to the email given at its checkout,
 * read from orders, never carried in the event (nor on Kafka). `user.deleted` clears the
 * addresses the user's deliveries went to.
 */
import type { Context, ServiceSchema } from "moleculer";
import { Events, type Delivery, type EventEnvelope, type UserContact } from "../contracts";
import { call } from "../lib/typed";
import { toDelivery, type DeliveryDoc } from "../domain/notifications";
import { DELIVERY_ERASURE } from "../domain/erasure";

export interface ContactMethods {
  /** The event's recipient, or null when there is none any more (a 404). */
  contactOf(data: { userId?: string | null; orderId?: string }): Promise<UserContact | null>;
}

const unlessGone = (err: any) => {
  if (err?.code === 404) return null;
  throw err;
};

/** Kept beside the service's own channels (a mixin's `channels` would be replaced by them). */
export const ERASURE_CHANNELS = {
  [Events.userDeleted]: {
    group: "notifications",
    maxInFlight: 10,
    nats: {},
    async handler(this: any, ctx: Context<EventEnvelope>) {
      const { userId } = ctx.params.data as EventEnvelope<"user.deleted">["data"];
      await this.adapter.updateMany({ userId }, DELIVERY_ERASURE);
    },
  },
};

export const NotificationContactsMixin: ServiceSchema = {
  name: "",
  actions: {
    /** Internal: every delivery of a user, for its personal-data export. */
    personalData: {
      visibility: "public",
      params: { $$strict: true, userId: { type: "string", min: 1, max: 100 } },
      async handler(this: any, ctx: Context<{ userId: string }>): Promise<{ notifications: Delivery[] }> {
        const docs: DeliveryDoc[] = await this.adapter.find({
          query: { userId: ctx.params.userId, status: { $in: ["sent", "failed", "skipped"] } },
          sort: ["-createdAt"],
        });
        return { notifications: docs.map(toDelivery) as Delivery[] };
      },
    },
  },
  methods: {
    async contactOf(
      this: any,
      data: { userId?: string | null; orderId?: string },
    ): Promise<UserContact | null> {
      if (data.userId) return call(this.broker, "users.contact", { id: data.userId }).catch(unlessGone);
      if (!data.orderId) return null;
      const guest = await call(this.broker, "orders.guestContact", { orderId: data.orderId }).catch(
        unlessGone,
      );
      // A guest asked for nothing but this order's emails: no SMS, no preferences to read.
      return (
        guest && {
          id: `order:${guest.orderId}`,
          email: guest.email,
          name: guest.name,
          notifications: { email: true, sms: false },
        }
      );
    },
  },
};
