/**
 * What erasure removes (API.md "personal data"): the user's name, email and phone, its
 * addresses and password hash; from its orders the buyer's email and every shipping address line
 * but the country; from its deliveries the address they went to. Amounts, ids and dates stay,
 * for the books. The email becomes a tombstone unique to the id (the email index is unique).
 */
export const erasedEmail = (userId: string) => `erased:${userId}`;

export function userErasure(userId: string, at: string) {
  return {
    $set: { email: erasedEmail(userId), addresses: [], erasedAt: at, updatedAt: at },
    $unset: { name: true, phone: true, passwordHash: true },
  };
}

export const ORDER_ERASURE = {
  $unset: {
    email: true,
    "shippingAddress.name": true,
    "shippingAddress.line1": true,
    "shippingAddress.line2": true,
    "shippingAddress.city": true,
    "shippingAddress.postalCode": true,
    "shippingAddress.phone": true,
  },
};

export const DELIVERY_ERASURE = { $set: { to: null } };
