import {
  CART_TOKEN_PATTERN,
  guestCartId,
  hashOrderToken,
  isCartToken,
  isIdle,
  isOrderToken,
  needsTouch,
  newCartToken,
  orderTokenFor,
  sameHash,
  TOUCH_EVERY_MS,
} from "../../domain/guest-tokens";

const DAY = 86_400_000;

describe("guest tokens", () => {
  it("should make cart tokens of 256 random bits, each different, in the documented shape", () => {
    const tokens = Array.from({ length: 1000 }, newCartToken);
    expect(new Set(tokens).size).toBe(1000);
    for (const t of tokens) expect(t).toMatch(CART_TOKEN_PATTERN);
    // 43 base64url characters after the prefix: 258 bits of text for 256 bits of randomness.
    expect(Buffer.from(tokens[0].slice(3), "base64url")).toHaveLength(32);
  });

  it.each([
    ["", false],
    ["gc_short", false],
    [`gc_${"a".repeat(42)}!`, false],
    [`gx_${"a".repeat(43)}`, false],
    [`gc_${"a".repeat(44)}`, false],
    [{ $ne: null }, false],
    [`gc_${"a".repeat(43)}`, true],
  ])("should tell a cart token from %j", (token, ok) => {
    expect(isCartToken(token)).toBe(ok);
  });

  it("should key a guest cart by the token's hash, never the token, never like a user id", () => {
    const token = newCartToken();
    const id = guestCartId(token);
    expect(id).toMatch(/^guest:[0-9a-f]{64}$/);
    expect(id).not.toContain(token.slice(3));
    expect(guestCartId(token)).toBe(id);
    expect(guestCartId(newCartToken())).not.toBe(id);
  });

  it("should derive an order token from the cart token and the order, different for each", () => {
    const cart = newCartToken();
    const t = orderTokenFor(cart, "order-1");
    expect(isOrderToken(t)).toBe(true);
    expect(orderTokenFor(cart, "order-1")).toBe(t);
    expect(orderTokenFor(cart, "order-2")).not.toBe(t);
    expect(orderTokenFor(newCartToken(), "order-1")).not.toBe(t);
  });

  it("should match an order token only against its own hash", () => {
    const t = orderTokenFor(newCartToken(), "o");
    expect(sameHash(hashOrderToken(t), hashOrderToken(t))).toBe(true);
    expect(sameHash(hashOrderToken(t), hashOrderToken(orderTokenFor(newCartToken(), "o")))).toBe(false);
    expect(sameHash(undefined, hashOrderToken(t))).toBe(false);
    expect(sameHash("short", hashOrderToken(t))).toBe(false);
  });

  it.each([
    [0, false],
    [30 * DAY, false],
    [30 * DAY + 1, true],
  ])("should count a cart unused for %d ms as idle past 30 days: %s", (age, idle) => {
    expect(isIdle(1_000_000_000_000 - age, 1_000_000_000_000, 30 * DAY)).toBe(idle);
  });

  it("should record use at most once an hour", () => {
    expect(needsTouch(0, TOUCH_EVERY_MS - 1)).toBe(false);
    expect(needsTouch(0, TOUCH_EVERY_MS)).toBe(true);
  });
});
