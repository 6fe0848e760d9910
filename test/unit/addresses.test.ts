import type { Address, AddressInput } from "../../contracts";
import {
  MAX_ADDRESSES,
  addAddress,
  pickAddress,
  removeAddress,
  toShippingAddress,
  updateAddress,
} from "../../domain/addresses";
import { RuleError } from "../../domain/rule-error";

const input = (name: string, extra: Partial<AddressInput> = {}): AddressInput => ({
  name,
  line1: "1 Main St",
  city: "Springfield",
  postalCode: "12345",
  country: "US",
  ...extra,
});
const book = (...names: string[]) => names.reduce<Address[]>((list, n) => addAddress(list, n, input(n)), []);
const defaults = (list: Address[]) => list.filter((a) => a.isDefault).map((a) => a.id);

describe("the address book", () => {
  it("should make the first address the default and keep it so", () => {
    expect(defaults(book("a"))).toEqual(["a"]);
    expect(defaults(book("a", "b", "c"))).toEqual(["a"]);
  });

  it("should move the default to an address added or changed with isDefault", () => {
    expect(defaults(addAddress(book("a", "b"), "c", input("c", { isDefault: true })))).toEqual(["c"]);
    expect(defaults(updateAddress(book("a", "b"), "b", { isDefault: true }))).toEqual(["b"]);
  });

  it("should refuse to un-default the default (422 on isDefault)", () => {
    expect(() => updateAddress(book("a", "b"), "a", { isDefault: false })).toThrow(
      expect.objectContaining({ status: 422, data: [expect.objectContaining({ field: "isDefault" })] }),
    );
  });

  it("should make the oldest remaining address the default when the default goes", () => {
    expect(defaults(removeAddress(book("a", "b", "c"), "a"))).toEqual(["b"]);
    expect(removeAddress(book("a"), "a")).toEqual([]);
    expect(defaults(removeAddress(book("a", "b", "c"), "c"))).toEqual(["a"]);
  });

  it(`should hold ${MAX_ADDRESSES} addresses and refuse the next with a 409`, () => {
    const full = book(...Array.from({ length: MAX_ADDRESSES }, (_, i) => `a${i}`));
    expect(full).toHaveLength(MAX_ADDRESSES);
    let err: unknown;
    try {
      addAddress(full, "one-more", input("x"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuleError);
    expect(err).toMatchObject({ status: 409, type: "ADDRESS_LIMIT" });
  });

  it("should answer 404 for an address not in the list", () => {
    expect(() => updateAddress(book("a"), "zzz", { city: "X" })).toThrow(
      expect.objectContaining({ status: 404 }),
    );
    expect(() => removeAddress(book("a"), "zzz")).toThrow(expect.objectContaining({ status: 404 }));
  });

  it("should pick the named address, else the default, else none", () => {
    const list = updateAddress(book("a", "b"), "b", { isDefault: true });
    expect(pickAddress(list, "a")?.id).toBe("a");
    expect(pickAddress(list)?.id).toBe("b");
    expect(pickAddress(list, "other-users")).toBeNull();
    expect(pickAddress([])).toBeNull();
  });

  it("should ship to an address's lines only (no id, phone or default flag)", () => {
    const [a] = addAddress([], "a", input("Ann", { phone: "+14155550123", line2: "Apt 2" }));
    expect(toShippingAddress(a)).toEqual({
      name: "Ann",
      line1: "1 Main St",
      line2: "Apt 2",
      city: "Springfield",
      postalCode: "12345",
      country: "US",
    });
  });
});
