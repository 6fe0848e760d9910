/** GET /api/admin/stats (API.md "Admin"): what the dashboard reads. */

/** One UTC day and currency that had orders. */
export interface DayRow {
  date: string;
  orders: number;
  revenue: number;
  currency: string;
}

/** orders.stats: the figures of the orders placed in a window. */
export interface OrderStats {
  ordersByDay: DayRow[];
  totals: { orders: number; revenue: Record<string, number> };
  statusCounts: Record<string, number>;
}

export interface LowStockLevel {
  variantId: string;
  productId: string;
  available: number;
}

export interface LowStockRow extends LowStockLevel {
  sku: string;
}

export interface AdminStats {
  from: string;
  to: string;
  ordersByDay: DayRow[];
  totals: { orders: number; revenue: Record<string, number>; customers: number };
  lowStock: LowStockRow[];
  statusCounts: Record<string, number>;
}
