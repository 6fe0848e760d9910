/**
 * Orders (bars) and revenue (line) per day as a plain SVG: a chart library would cost more than
 * the rest of the dashboard. One currency at a time; days with no orders are drawn as zero.
 */
import { money } from "../format";

export interface DayPoint {
  date: string;
  orders: number;
  revenue: number;
}

const W = 720;
const H = 220;
const PAD = { left: 40, right: 70, top: 12, bottom: 28 };

/** Every day of [from, to) in UTC, with the rows of `currency` (others ignored). */
export function dailySeries(
  rows: { date: string; orders: number; revenue: number; currency: string }[],
  from: string,
  to: string,
  currency: string,
): DayPoint[] {
  const byDate = new Map(rows.filter((r) => r.currency === currency).map((r) => [r.date, r]));
  const out: DayPoint[] = [];
  const end = Date.parse(to);
  for (let t = Date.parse(from.slice(0, 10)); t < end; t += 86_400_000) {
    const date = new Date(t).toISOString().slice(0, 10);
    const row = byDate.get(date);
    out.push({ date, orders: row?.orders ?? 0, revenue: row?.revenue ?? 0 });
  }
  return out;
}

export function OrdersChart({ points, currency }: { points: DayPoint[]; currency: string }) {
  const maxOrders = Math.max(1, ...points.map((p) => p.orders));
  const maxRevenue = Math.max(1, ...points.map((p) => p.revenue));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const step = innerW / Math.max(1, points.length);
  const x = (i: number) => PAD.left + i * step;
  const yOrders = (n: number) => PAD.top + innerH - (n / maxOrders) * innerH;
  const yRevenue = (n: number) => PAD.top + innerH - (n / maxRevenue) * innerH;
  const line = points
    .map((p, i) => `${i ? "L" : "M"}${(x(i) + step / 2).toFixed(1)},${yRevenue(p.revenue).toFixed(1)}`)
    .join(" ");
  const total = points.reduce((n, p) => n + p.orders, 0);
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      width="100%"
      role="img"
      aria-label={`Orders and revenue per day: ${total} orders, ${money(
        points.reduce((n, p) => n + p.revenue, 0),
        currency,
      )}`}
      data-testid="orders-chart"
    >
      <line x1={PAD.left} x2={W - PAD.right} y1={PAD.top + innerH} y2={PAD.top + innerH} stroke="#9e9e9e" />
      <text x={PAD.left - 6} y={PAD.top + 10} textAnchor="end" fontSize="11" fill="#424242">
        {maxOrders}
      </text>
      <text x={W - PAD.right + 6} y={PAD.top + 10} fontSize="11" fill="#0d47a1">
        {money(maxRevenue, currency)}
      </text>
      {points.map((p, i) => (
        <rect
          key={p.date}
          data-date={p.date}
          data-orders={p.orders}
          x={x(i) + step * 0.15}
          width={Math.max(1, step * 0.7)}
          y={yOrders(p.orders)}
          height={PAD.top + innerH - yOrders(p.orders)}
          fill="#90caf9"
        >
          <title>{`${p.date}: ${p.orders} orders, ${money(p.revenue, currency)}`}</title>
        </rect>
      ))}
      <path d={line} fill="none" stroke="#0d47a1" strokeWidth="2" />
      {points.length > 0 && (
        <>
          <text x={PAD.left} y={H - 8} fontSize="11" fill="#424242">
            {points[0].date}
          </text>
          <text x={W - PAD.right} y={H - 8} fontSize="11" textAnchor="end" fill="#424242">
            {points[points.length - 1].date}
          </text>
        </>
      )}
    </svg>
  );
}
