/**
 * The address book (API.md "addresses"): at most MAX_ADDRESSES per user, exactly one default
 * while any exist (the first one added; removing the default makes the oldest remaining one the
 * default). Kept inside the user's document, so every rule holds in one atomic write.
 */
import type { Address, AddressInput, ShippingAddress } from "../contracts";
import { RuleError, invalidField } from "./rule-error";

export const MAX_ADDRESSES = 20;

const notFound = (id: string) => new RuleError(404, "NOT_FOUND", "Address not found", { id });

/** Only one default: the one named becomes it, every other one stops being it. */
function withDefault(list: Address[], id: string): Address[] {
  return list.map((a) => ({ ...a, isDefault: a.id === id }));
}

export function addAddress(list: readonly Address[], id: string, input: AddressInput): Address[] {
  if (list.length >= MAX_ADDRESSES)
    throw new RuleError(409, "ADDRESS_LIMIT", `An address book holds at most ${MAX_ADDRESSES} addresses`, {
      max: MAX_ADDRESSES,
    });
  const { isDefault, ...fields } = input;
  const next = [...list, { id, ...fields, isDefault: false }];
  return isDefault || list.length === 0 ? withDefault(next, id) : next;
}

export function updateAddress(list: readonly Address[], id: string, patch: Partial<AddressInput>): Address[] {
  const cur = list.find((a) => a.id === id);
  if (!cur) throw notFound(id);
  const { isDefault, ...fields } = patch;
  if (isDefault === false && cur.isDefault)
    throw invalidField("isDefault", "defaultRequired", "Make another address the default instead");
  const next = list.map((a) => (a.id === id ? { ...a, ...fields } : a));
  return isDefault ? withDefault(next, id) : next;
}

export function removeAddress(list: readonly Address[], id: string): Address[] {
  const cur = list.find((a) => a.id === id);
  if (!cur) throw notFound(id);
  const rest = list.filter((a) => a.id !== id);
  return cur.isDefault && rest.length ? withDefault(rest, rest[0].id) : rest;
}

/** The address an order ships to: the one named, else the default; null when there is none. */
export function pickAddress(list: readonly Address[], id?: string): Address | null {
  if (id !== undefined) return list.find((a) => a.id === id) ?? null;
  return list.find((a) => a.isDefault) ?? null;
}

export function toShippingAddress(a: Address): ShippingAddress {
  return {
    name: a.name,
    line1: a.line1,
    ...(a.line2 !== undefined ? { line2: a.line2 } : {}),
    city: a.city,
    postalCode: a.postalCode,
    country: a.country,
  };
}
