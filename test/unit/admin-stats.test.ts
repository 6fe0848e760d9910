import { orderStats, revenueOf, statsWindow, type OrderFigures } from "../../domain/admin-stats";
import { orderListQuery } from "../../domain/order-filters";

const NOW = Date.parse("2026-03-31T12:00:00Z");
const order = (o: Partial<OrderFigures>): OrderFigures => ({
  userId: "u1",
  status: "confirmed",
  total: 1000,
  currency: "USD",
  createdAt: "2026-03-01T10:00:00.000Z",
  ...o,
});

describe("statsWindow", () => {
  it.each([
    [{}, "2026-03-01T12:00:00.000Z", "2026-03-31T12:00:00.000Z"],
    [{ from: "2026-03-01", to: "2026-03-02" }, "2026-03-01T00:00:00.000Z", "2026-03-03T00:00:00.000Z"],
    [
      { from: "2026-03-01T06:00:00Z", to: "2026-03-01T18:00:00Z" },
      "2026-03-01T06:00:00.000Z",
      "2026-03-01T18:00:00.000Z",
    ],
    [{ to: "2026-02-28" }, "2026-01-30T00:00:00.000Z", "2026-03-01T00:00:00.000Z"],
  ])("should read %j as [%s, %s)", (query, from, to) => {
    expect(statsWindow(query, NOW)).toEqual({ window: { from, to } });
  });

  it.each([
    [{ from: "yesterday" }, "from"],
    [{ to: "2026-02-31" }, "to"],
    [{ from: "2026-13-01" }, "from"],
    [{ from: "2026-03-05", to: "2026-03-01" }, "from"],
    [{ from: "2020-01-01", to: "2026-01-01" }, "from"],
    [{ to: "1e12" }, "to"],
  ])("should refuse %j naming %s", (query, field) => {
    const answer = statsWindow(query, NOW);
    expect("errors" in answer && answer.errors.map((e) => e.field)).toEqual([field]);
  });
});

describe("orderStats", () => {
  it("should count every order by day, currency and status, and revenue only of charges that stand", () => {
    const stats = orderStats([
      order({ total: 1000 }),
      order({ total: 2500, status: "shipped", refundedTotal: 500 }),
      order({ total: 700, status: "payment_failed" }),
      order({ total: 900, currency: "EUR", status: "delivered" }),
      order({ total: 300, status: "cancelled", createdAt: "2026-03-02T23:59:59.000Z" }),
    ]);
    expect(stats.ordersByDay).toEqual([
      { date: "2026-03-01", orders: 1, revenue: 900, currency: "EUR" },
      { date: "2026-03-01", orders: 3, revenue: 3000, currency: "USD" },
      { date: "2026-03-02", orders: 1, revenue: 0, currency: "USD" },
    ]);
    expect(stats.totals).toEqual({ orders: 5, revenue: { USD: 3000, EUR: 900 } });
    expect(stats.statusCounts).toEqual({
      confirmed: 1,
      shipped: 1,
      payment_failed: 1,
      delivered: 1,
      cancelled: 1,
    });
  });

  it.each([
    ["confirmed", 0, 1000],
    ["shipped", 1000, 0],
    ["pending", 0, 0],
    ["on_hold", 0, 0],
  ])("should leave %s with %i refunded as %i of revenue", (status, refundedTotal, revenue) => {
    expect(revenueOf(order({ status, refundedTotal }))).toBe(revenue);
  });
});

describe("orderListQuery", () => {
  it("should refuse a date no calendar has with a 422 naming the bound, not a 500", () => {
    expect(() => orderListQuery({ from: "0000-00-00" })).toThrow(expect.objectContaining({ status: 422 }));
    expect(() => orderListQuery({ to: "2026-13-40" })).toThrow(
      expect.objectContaining({ data: [expect.objectContaining({ field: "to" })] }),
    );
  });

  it("should match one status and a createdAt window taking in the whole of a date-only `to`", () => {
    expect(orderListQuery({ status: "shipped", from: "2026-03-01", to: "2026-03-01" })).toEqual({
      status: "shipped",
      createdAt: { $gte: "2026-03-01T00:00:00.000Z", $lt: "2026-03-02T00:00:00.000Z" },
    });
    expect(orderListQuery({})).toEqual({});
  });
});
