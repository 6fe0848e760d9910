import {
  Datagrid,
  DateField,
  FunctionField,
  List,
  SelectInput,
  TextField,
  useDataProvider,
  useRecordContext,
} from "react-admin";
import { ConfirmAction } from "./common";
import type { ShopDataProvider } from "./dataProvider";

const STATUSES = ["requested", "refunded", "rejected"].map((id) => ({ id, name: id }));

function ReturnActions() {
  const record = useRecordContext();
  const dataProvider = useDataProvider<ShopDataProvider>();
  if (!record || record.status !== "requested") return null;
  return (
    <span onClick={(e) => e.stopPropagation()}>
      <ConfirmAction
        label="Receive"
        title="Goods received: restock and refund?"
        fields={[{ name: "restock", label: "Restock (yes/no)", defaultValue: "yes" }]}
        run={(v) => dataProvider.returnAction(record.id, "receive", { restock: v.restock !== "no" })}
        done="Return received and refunded"
      />
      <ConfirmAction
        label="Reject"
        title="Reject this return?"
        fields={[{ name: "reason", label: "Reason", defaultValue: "" }]}
        run={(v) => dataProvider.returnAction(record.id, "reject", { reason: v.reason })}
        done="Return rejected"
        color="error"
      />
    </span>
  );
}

export function ReturnList() {
  return (
    <List filters={[<SelectInput key="status" source="status" choices={STATUSES} alwaysOn />]} perPage={25}>
      <Datagrid bulkActionButtons={false} rowClick={false}>
        <TextField source="id" sortable={false} />
        <TextField source="orderId" sortable={false} />
        <TextField source="status" sortable={false} />
        <FunctionField
          label="Items"
          render={(r: any) => (r.items ?? []).map((i: any) => `${i.quantity}× ${i.variantId}`).join(", ")}
        />
        <TextField source="reason" sortable={false} />
        <FunctionField label="Refund" render={(r: any) => (r.refundAmount / 100).toFixed(2)} />
        <DateField source="createdAt" sortable={false} />
        <ReturnActions />
      </Datagrid>
    </List>
  );
}
