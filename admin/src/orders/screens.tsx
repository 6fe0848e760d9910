import { Box, Table, TableBody, TableCell, TableHead, TableRow, Typography } from "@mui/material";
import {
  Datagrid,
  DateField,
  DateInput,
  FunctionField,
  List,
  SelectInput,
  Show,
  SimpleShowLayout,
  TextField,
  TextInput,
  TopToolbar,
  useDataProvider,
  useRecordContext,
} from "react-admin";
import { ConfirmAction } from "../common";
import type { ShopDataProvider } from "../dataProvider";
import { money, ORDER_STATUSES, toMinor } from "../format";

const filters = [
  <SelectInput key="status" source="status" choices={ORDER_STATUSES} alwaysOn />,
  <TextInput key="userId" source="userId" label="Customer id" />,
  <DateInput key="from" source="from" label="Placed from" />,
  <DateInput key="to" source="to" label="Placed to" />,
];

export function OrderList() {
  return (
    <List filters={filters} sort={{ field: "createdAt", order: "DESC" }} perPage={25}>
      <Datagrid rowClick="show" bulkActionButtons={false}>
        <TextField source="id" sortable={false} />
        <DateField source="createdAt" showTime sortable={false} />
        <TextField source="status" sortable={false} />
        <FunctionField label="Customer" render={(r: any) => r.email ?? r.userId ?? "guest"} />
        <FunctionField
          label="Items"
          render={(r: any) => (r.items ?? []).reduce((n: number, l: any) => n + l.quantity, 0)}
        />
        <FunctionField label="Total" render={(r: any) => money(r.total, r.currency)} />
      </Datagrid>
    </List>
  );
}

function Lines({ order }: { order: any }) {
  return (
    <Table size="small" aria-label="Lines">
      <TableHead>
        <TableRow>
          {["Product", "Variant", "SKU", "Unit price", "Quantity", "Line total"].map((h) => (
            <TableCell key={h}>{h}</TableCell>
          ))}
        </TableRow>
      </TableHead>
      <TableBody>
        {(order.items ?? []).map((l: any, i: number) => (
          <TableRow key={i}>
            <TableCell>{l.name}</TableCell>
            <TableCell>{l.variantTitle ?? ""}</TableCell>
            <TableCell>{l.sku ?? ""}</TableCell>
            <TableCell>{money(l.unitPrice, order.currency)}</TableCell>
            <TableCell>{l.quantity}</TableCell>
            <TableCell>{money(l.lineTotal, order.currency)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

/** What an order charged, line by line down to the total (fields of later rounds when present). */
function Totals() {
  const order = useRecordContext();
  if (!order) return null;
  const c = order.currency;
  const rows: [string, number | undefined][] = [
    ["Subtotal", order.subtotal],
    ["Discount", order.discountTotal ? -order.discountTotal : undefined],
    ["Shipping", order.shippingTotal],
    [`Tax${order.taxInclusive ? " (included)" : ""}`, order.taxTotal],
    ["Total", order.total],
    ["Refunded", order.refundedTotal],
  ];
  return (
    <Table size="small" aria-label="Totals" sx={{ maxWidth: 360 }}>
      <TableBody>
        {rows
          .filter(([, v]) => v !== undefined && v !== null)
          .map(([label, v]) => (
            <TableRow key={label}>
              <TableCell component="th" scope="row">
                {label}
              </TableCell>
              <TableCell align="right" data-testid={`total-${label.split(" ")[0].toLowerCase()}`}>
                {money(v, c)}
              </TableCell>
            </TableRow>
          ))}
      </TableBody>
    </Table>
  );
}

/** The order's history, oldest first, as a vertical timeline. */
function Timeline() {
  const order = useRecordContext();
  if (!order) return null;
  return (
    <Box component="ol" aria-label="History" sx={{ listStyle: "none", pl: 0, m: 0 }} data-testid="history">
      {(order.history ?? []).map((h: any, i: number) => (
        <Box
          component="li"
          key={i}
          sx={{
            display: "flex",
            gap: 2,
            borderLeft: "2px solid #1976d2",
            pl: 2,
            pb: 1.5,
            position: "relative",
          }}
        >
          <Typography component="span" sx={{ fontWeight: 600, minWidth: 120 }}>
            {String(h.status).replace("_", " ")}
          </Typography>
          <Typography component="span" color="text.secondary">
            {new Date(h.at).toLocaleString()}
          </Typography>
        </Box>
      ))}
    </Box>
  );
}

function Risk() {
  const order = useRecordContext();
  if (!order?.risk) return null;
  return (
    <Typography>
      Risk: {order.risk.level} ({order.risk.score}/100)
      {order.risk.reasons?.length ? ` — ${order.risk.reasons.join(", ")}` : ""}
    </Typography>
  );
}

function OrderActions() {
  const order = useRecordContext();
  const dataProvider = useDataProvider<ShopDataProvider>();
  if (!order) return <TopToolbar />;
  const left = (order.total ?? 0) - (order.refundedTotal ?? 0);
  return (
    <TopToolbar>
      <ConfirmAction
        label="Mark shipped"
        title="Mark this order shipped?"
        run={() => dataProvider.orderAction(order.id, "ship")}
        done="Order marked shipped"
      />
      <ConfirmAction
        label="Mark delivered"
        title="Mark this order delivered?"
        run={() => dataProvider.orderAction(order.id, "deliver")}
        done="Order marked delivered"
      />
      <ConfirmAction
        label="Refund"
        title="Refund part or all of this order"
        content={<Typography>Up to {money(left, order.currency)} can be refunded.</Typography>}
        fields={[
          {
            name: "amount",
            label: `Amount (${order.currency})`,
            type: "number",
            defaultValue: String(left / 100),
          },
          { name: "reason", label: "Reason", defaultValue: "requested_by_customer" },
        ]}
        run={(v) => dataProvider.refund(order.id, toMinor(v.amount) ?? 0, v.reason)}
        done="Refund issued"
        color="warning"
      />
      <ConfirmAction
        label="Cancel order"
        title="Cancel this order? Its payment is refunded and its stock returned."
        run={() => dataProvider.orderAction(order.id, "cancel")}
        done="Order cancelled"
        color="error"
      />
    </TopToolbar>
  );
}

export function OrderShow() {
  return (
    <Show actions={<OrderActions />}>
      <SimpleShowLayout>
        <TextField source="id" />
        <TextField source="status" data-testid="order-status" />
        <FunctionField label="Customer" render={(r: any) => r.email ?? r.userId ?? "guest"} />
        <DateField source="createdAt" showTime />
        <FunctionField label="Lines" render={(r: any) => <Lines order={r} />} />
        <FunctionField label="Totals" render={() => <Totals />} />
        <FunctionField
          label="Payment"
          render={(r: any) => `${r.payment?.status ?? "–"}${r.payment?.id ? ` (${r.payment.id})` : ""}`}
        />
        <FunctionField
          label="Ships to"
          render={(r: any) =>
            r.shippingAddress
              ? [
                  r.shippingAddress.name,
                  r.shippingAddress.line1,
                  r.shippingAddress.city,
                  r.shippingAddress.postalCode,
                  r.shippingAddress.country,
                ]
                  .filter(Boolean)
                  .join(", ")
              : "–"
          }
        />
        <FunctionField label="Risk" render={() => <Risk />} />
        <FunctionField label="History" render={() => <Timeline />} />
      </SimpleShowLayout>
    </Show>
  );
}
