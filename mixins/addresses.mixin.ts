/**
 * The address book, for the users service: addresses live in the user's document (at most 20,
 * exactly one default; domain/addresses.ts), so each change is one compare-and-set on
 * `addressesVersion` and the limit holds under concurrent requests. Another user's address id is
 * simply not in the caller's list: a 404, its existence not revealed.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import type { Address, AddressInput, Meta, ShippingAddress } from "../contracts";
import {
  addAddress,
  pickAddress,
  removeAddress,
  toShippingAddress,
  updateAddress,
} from "../domain/addresses";
import { E164 } from "../domain/users";
import { RuleErrorsMixin } from "./rule-errors.mixin";

type Ctx<P = Record<string, never>> = Context<P, Meta>;
type WithAddresses = { _id: string; addresses?: Address[]; addressesVersion?: number; erasedAt?: string };

const TEXT = { type: "string", trim: true, min: 1, max: 200 } as const;
const FIELDS = {
  name: TEXT,
  line1: TEXT,
  line2: { ...TEXT, optional: true },
  city: TEXT,
  postalCode: { ...TEXT, max: 20 },
  country: { ...TEXT, max: 60 },
  phone: {
    type: "string",
    pattern: E164,
    optional: true,
    messages: { stringPattern: "The 'phone' field must be E.164, e.g. +14155550123." },
  },
  isDefault: { type: "boolean", optional: true },
} as const;
const optional = <T extends Record<string, object>>(rules: T) =>
  Object.fromEntries(Object.entries(rules).map(([k, r]) => [k, { ...r, optional: true }])) as {
    [K in keyof T]: T[K] & { optional: true };
  };
const ID = { type: "string", min: 1, max: 100 } as const;

export interface AddressMethods {
  /** Applies `change` to the caller's list atomically; returns the list as stored. */
  changeAddresses(userId: string, change: (list: Address[]) => Address[]): Promise<Address[]>;
}

const signedIn = (ctx: Ctx<unknown>) => ctx.meta.user!.id;
const found = (list: Address[], id: string) => list.find((a) => a.id === id)!;

export const AddressesMixin: ServiceSchema = {
  name: "",
  mixins: [RuleErrorsMixin],
  actions: {
    addresses: {
      auth: "required",
      params: { $$strict: true },
      async handler(this: any, ctx: Ctx): Promise<{ rows: Address[] }> {
        const doc: WithAddresses | null = await this.adapter.findById(signedIn(ctx));
        return { rows: doc?.addresses ?? [] };
      },
    },

    addAddress: {
      auth: "required",
      params: { $$strict: true, ...FIELDS },
      async handler(this: any, ctx: Ctx<AddressInput>): Promise<Address> {
        const id = randomUUID();
        const list = await this.changeAddresses(signedIn(ctx), (l: Address[]) =>
          addAddress(l, id, ctx.params),
        );
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/user/addresses/${id}`;
        return found(list, id);
      },
    },

    updateAddress: {
      auth: "required",
      params: { $$strict: true, id: ID, ...optional(FIELDS) },
      async handler(this: any, ctx: Ctx<Partial<AddressInput> & { id: string }>): Promise<Address> {
        const { id, ...patch } = ctx.params;
        const list = await this.changeAddresses(signedIn(ctx), (l: Address[]) => updateAddress(l, id, patch));
        return found(list, id);
      },
    },

    removeAddress: {
      auth: "required",
      params: { $$strict: true, id: ID },
      async handler(this: any, ctx: Ctx<{ id: string }>): Promise<null> {
        await this.changeAddresses(signedIn(ctx), (l: Address[]) => removeAddress(l, ctx.params.id));
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    /** Internal, for the checkout: the address named (only the user's own), else the default. */
    shippingAddress: {
      visibility: "public",
      params: { $$strict: true, userId: ID, addressId: { ...ID, optional: true } },
      async handler(
        this: any,
        ctx: Ctx<{ userId: string; addressId?: string }>,
      ): Promise<ShippingAddress | null> {
        const doc: WithAddresses | null = await this.adapter.findById(ctx.params.userId);
        const picked = pickAddress(doc?.addresses ?? [], ctx.params.addressId);
        return picked && toShippingAddress(picked);
      },
    },
  },

  methods: {
    async changeAddresses(this: any, userId: string, change: (list: Address[]) => Address[]) {
      for (;;) {
        const doc: WithAddresses | null = await this.adapter.findById(userId);
        if (!doc || doc.erasedAt) throw new Errors.MoleculerClientError("Unauthorized", 401, "NO_TOKEN", {});
        const list = change(doc.addresses ?? []);
        const version = doc.addressesVersion;
        const filter = { _id: userId, addressesVersion: version ?? { $exists: false } };
        const set = {
          addresses: list,
          addressesVersion: (version ?? 0) + 1,
          updatedAt: new Date().toISOString(),
        };
        if (await this.updateOneIf(filter, { $set: set })) return list;
      }
    },
  },
};
