/**
 * Personal data, for the users service: the export of everything stored about the caller, and
 * erasure. Erasure, once the password is confirmed: every refresh token is revoked (before
 * anything else, so a 204 means no session survives), then in one write the user's name, email,
 * phone, password hash and addresses go and `user.deleted` enters the outbox. Every service
 * holding personal data consumes that event (carts, orders, notifications) and the Kafka bridge
 * publishes it as `user_deleted` with the id only, for consumers outside to erase theirs.
 */
import { Errors, type Context, type ServiceSchema } from "moleculer";
import { Events, type Meta, type PersonalData } from "../contracts";
import { call } from "../lib/typed";
import { verifyPassword } from "../domain/passwords";
import { toPublicUser, type UserDoc } from "../domain/users";
import { userErasure } from "../domain/erasure";
import type { Address } from "../contracts";

type Ctx<P = Record<string, never>> = Context<P, Meta>;
type StoredUser = UserDoc & { addresses?: Address[]; erasedAt?: string };

const wrongPassword = () => new Errors.MoleculerClientError("Wrong password", 401, "INVALID_CREDENTIALS", {});

/** Needs the host's `currentUser(ctx)`, `forgetProfile(ctx, id)` and the outbox. */
export const PersonalDataMixin: ServiceSchema = {
  name: "",
  actions: {
    exportMe: {
      auth: "required",
      params: { $$strict: true },
      async handler(this: any, ctx: Ctx): Promise<PersonalData> {
        const doc: StoredUser = await this.currentUser(ctx);
        const userId = doc._id;
        const [{ orders }, { notifications }] = await Promise.all([
          call(ctx, "orders.personalData", { userId }),
          call(ctx, "notifications.personalData", { userId }),
        ]);
        return { user: toPublicUser(doc), addresses: doc.addresses ?? [], orders, notifications };
      },
    },

    deleteMe: {
      auth: "required",
      params: { $$strict: true, password: { type: "string", min: 1, max: 1024 } },
      async handler(this: any, ctx: Ctx<{ password: string }>): Promise<null> {
        const doc: StoredUser = await this.currentUser(ctx);
        if (!(await verifyPassword(doc.passwordHash, ctx.params.password))) throw wrongPassword();
        const userId = doc._id;
        await call(ctx, "tokens.revokeUser", { userId });
        const deleted = this.newEvent(Events.userDeleted, userId, { userId });
        const update = this.pushOutbox(userErasure(userId, new Date().toISOString()), [deleted]);
        // A concurrent erasure that won already holds the event: nothing to add.
        if (await this.updateOneIf({ _id: userId, erasedAt: { $exists: false } }, update))
          await this.flushOutbox(userId);
        await this.forgetProfile(ctx, userId);
        ctx.meta.$statusCode = 204;
        return null;
      },
    },
  },
};
