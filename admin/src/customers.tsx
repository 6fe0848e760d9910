import {
  Datagrid,
  DateField,
  EmailField,
  FunctionField,
  List,
  ReferenceManyField,
  Show,
  SimpleShowLayout,
  TextField,
} from "react-admin";
import { money } from "./format";

export function CustomerList() {
  return (
    <List perPage={25} sort={{ field: "createdAt", order: "ASC" }}>
      <Datagrid rowClick="show" bulkActionButtons={false}>
        <TextField source="email" sortable={false} />
        <TextField source="name" sortable={false} />
        <TextField source="role" sortable={false} />
        <DateField source="createdAt" sortable={false} />
      </Datagrid>
    </List>
  );
}

export function CustomerShow() {
  return (
    <Show>
      <SimpleShowLayout>
        <TextField source="id" />
        <EmailField source="email" />
        <TextField source="name" />
        <TextField source="phone" emptyText="–" />
        <TextField source="role" />
        <DateField source="createdAt" showTime />
        <ReferenceManyField label="Orders" reference="orders" target="userId" perPage={10}>
          <Datagrid rowClick="show" bulkActionButtons={false} empty={<span>No orders</span>}>
            <DateField source="createdAt" showTime sortable={false} />
            <TextField source="status" sortable={false} />
            <FunctionField label="Total" render={(r: any) => money(r.total, r.currency)} />
          </Datagrid>
        </ReferenceManyField>
      </SimpleShowLayout>
    </Show>
  );
}
