/**
 * Merging a guest's cart into the user's cart on sign-in (API.md "Guest carts"): a variant in
 * both carts gets the quantities added, capped at MAX_QUANTITY; other guest lines are appended
 * while the cart has room and share its currency (a line that cannot join is dropped and
 * reported). Region, shipping option and promotion come over only when the user's cart has none;
 * repricing in the user's region is the pricing rules' job.
 */
import { MAX_LINES, MAX_QUANTITY, type CartLine } from "./cart";

/** The checkout choices a cart may carry besides its lines (regions and promotions). */
export interface CartChoices {
  regionId?: string | null;
  shippingOptionId?: string | null;
  promotionCode?: string | null;
}

export function mergeLines(
  userItems: readonly CartLine[],
  guestItems: readonly CartLine[],
): { items: CartLine[]; dropped: CartLine[] } {
  const items = userItems.map((l) => ({ ...l }));
  const dropped: CartLine[] = [];
  for (const g of guestItems) {
    const same = items.find((l) => l.variantId === g.variantId);
    if (same) {
      same.quantity = Math.min(MAX_QUANTITY, same.quantity + g.quantity);
      continue;
    }
    const currency = items[0]?.currency;
    if (items.length >= MAX_LINES || (currency !== undefined && currency !== g.currency)) dropped.push(g);
    else items.push({ ...g, quantity: Math.min(MAX_QUANTITY, g.quantity) });
  }
  return { items, dropped };
}

/** What the user's cart takes over from the guest's: the region with its option, the promotion. */
export function carriedChoices(user: CartChoices, guest: CartChoices): CartChoices {
  const out: CartChoices = {};
  if (user.regionId == null && guest.regionId != null) {
    out.regionId = guest.regionId;
    if (user.shippingOptionId == null && guest.shippingOptionId != null)
      out.shippingOptionId = guest.shippingOptionId;
  }
  if (user.promotionCode == null && guest.promotionCode != null) out.promotionCode = guest.promotionCode;
  return out;
}

/** How many merged guest carts a user's cart remembers, so a retried sign-in adds nothing twice. */
export const REMEMBERED_MERGES = 20;

export function rememberMerge(remembered: readonly string[] | undefined, guestCartId: string): string[] {
  return [...(remembered ?? []), guestCartId].slice(-REMEMBERED_MERGES);
}
