import { Card, CardContent, Chip, MenuItem, Stack, TextField, Typography } from "@mui/material";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import {
  Datagrid,
  DateField,
  FunctionField,
  ListContextProvider,
  ResourceContextProvider,
  TextField as RaText,
  Title,
  useDataProvider,
  useList,
} from "react-admin";
import type { ShopDataProvider } from "../dataProvider";
import { money } from "../format";
import { dailySeries, OrdersChart } from "./Chart";

/** How often the dashboard reads its figures again by itself. */
export const REFRESH_MS = 10_000;

interface Stats {
  from: string;
  to: string;
  ordersByDay: { date: string; orders: number; revenue: number; currency: string }[];
  totals: { orders: number; revenue: Record<string, number>; customers: number };
  lowStock: { variantId: string; productId: string; sku: string; available: number }[];
  statusCounts: Record<string, number>;
}

function Figure({ label, value, testId }: { label: string; value: string | number; testId: string }) {
  return (
    <Card sx={{ flex: 1, minWidth: 160 }}>
      <CardContent>
        <Typography variant="body2" color="text.secondary" component="h2">
          {label}
        </Typography>
        <Typography variant="h5" component="p" data-testid={testId}>
          {value}
        </Typography>
      </CardContent>
    </Card>
  );
}

function LowStock({ rows }: { rows: Stats["lowStock"] }) {
  const list = useList({
    data: rows.map((r) => ({ ...r, id: r.variantId })),
    perPage: 10,
    resource: "products",
  });
  return (
    <ResourceContextProvider value="products">
      <ListContextProvider value={list}>
        <Datagrid
          bulkActionButtons={false}
          rowClick={(_id, _res, record) => `/products/${record.productId}`}
          empty={<Typography>None</Typography>}
        >
          <RaText source="sku" sortable={false} />
          <RaText source="available" sortable={false} />
        </Datagrid>
      </ListContextProvider>
    </ResourceContextProvider>
  );
}

function LatestOrders() {
  const dataProvider = useDataProvider();
  const { data } = useQuery({
    queryKey: ["dashboard", "latest-orders"],
    queryFn: () =>
      dataProvider.getList("orders", {
        pagination: { page: 1, perPage: 5 },
        sort: { field: "createdAt", order: "DESC" },
        filter: {},
      }),
    refetchInterval: REFRESH_MS,
  });
  const list = useList({ data: data?.data ?? [], resource: "orders" });
  return (
    <ResourceContextProvider value="orders">
      <ListContextProvider value={list}>
        <Datagrid bulkActionButtons={false} rowClick="show" empty={<Typography>No orders yet</Typography>}>
          <DateField source="createdAt" showTime sortable={false} />
          <RaText source="status" sortable={false} />
          <FunctionField label="Total" render={(r: any) => money(r.total, r.currency)} />
        </Datagrid>
      </ListContextProvider>
    </ResourceContextProvider>
  );
}

export function Dashboard() {
  const dataProvider = useDataProvider<ShopDataProvider>();
  const { data: stats, error } = useQuery<Stats>({
    queryKey: ["dashboard", "stats"],
    queryFn: () => dataProvider.stats(),
    refetchInterval: REFRESH_MS,
  });
  const currencies = stats
    ? [...new Set([...Object.keys(stats.totals.revenue), ...stats.ordersByDay.map((r) => r.currency)])]
    : [];
  const [picked, setPicked] = useState<string>();
  const currency = picked && currencies.includes(picked) ? picked : (currencies[0] ?? "USD");
  return (
    <Stack spacing={2} sx={{ mt: 2 }}>
      <Title title="Dashboard" />
      {error ? <Typography color="error">{(error as Error).message}</Typography> : null}
      <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: "wrap" }}>
        <Figure label="Orders (30 days)" value={stats?.totals.orders ?? "…"} testId="total-orders" />
        <Figure
          label={`Revenue (${currency})`}
          value={stats ? money(stats.totals.revenue[currency] ?? 0, currency) : "…"}
          testId="total-revenue"
        />
        <Figure label="Customers" value={stats?.totals.customers ?? "…"} testId="total-customers" />
      </Stack>
      <Card>
        <CardContent>
          <Stack direction="row" sx={{ justifyContent: "space-between", alignItems: "center" }}>
            <Typography variant="h6" component="h2">
              Orders and revenue per day
            </Typography>
            {currencies.length > 1 && (
              <TextField
                select
                size="small"
                label="Currency"
                value={currency}
                onChange={(e) => setPicked(e.target.value)}
              >
                {currencies.map((c) => (
                  <MenuItem key={c} value={c}>
                    {c}
                  </MenuItem>
                ))}
              </TextField>
            )}
          </Stack>
          {stats && (
            <OrdersChart
              points={dailySeries(stats.ordersByDay, stats.from, stats.to, currency)}
              currency={currency}
            />
          )}
        </CardContent>
      </Card>
      <Card>
        <CardContent>
          <Typography variant="h6" component="h2" gutterBottom>
            Orders by status
          </Typography>
          <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: "wrap" }} data-testid="status-counts">
            {Object.entries(stats?.statusCounts ?? {}).map(([status, n]) => (
              <Chip
                key={status}
                label={`${status.replace("_", " ")}: ${n}`}
                data-status={status}
                data-count={n}
              />
            ))}
          </Stack>
        </CardContent>
      </Card>
      <Stack direction={{ xs: "column", md: "row" }} spacing={2}>
        <Card sx={{ flex: 1 }}>
          <CardContent>
            <Typography variant="h6" component="h2">
              Low stock
            </Typography>
            <LowStock rows={stats?.lowStock ?? []} />
          </CardContent>
        </Card>
        <Card sx={{ flex: 2 }}>
          <CardContent>
            <Typography variant="h6" component="h2">
              Latest orders
            </Typography>
            <LatestOrders />
          </CardContent>
        </Card>
      </Stack>
    </Stack>
  );
}
