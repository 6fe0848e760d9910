import {
  BooleanField,
  BooleanInput,
  Create,
  Datagrid,
  DateTimeInput,
  Edit,
  List,
  NumberInput,
  SelectInput,
  SimpleForm,
  TextField,
  TextInput,
  required,
} from "react-admin";

const TYPES = [
  { id: "percentage", name: "Percentage (value 1–100)" },
  { id: "fixed", name: "Fixed amount (minor units)" },
  { id: "free_shipping", name: "Free shipping" },
];

export function PromotionList() {
  return (
    <List perPage={25}>
      <Datagrid rowClick="edit" bulkActionButtons={false}>
        <TextField source="code" sortable={false} />
        <TextField source="type" sortable={false} />
        <TextField source="value" sortable={false} />
        <TextField source="currency" sortable={false} emptyText="–" />
        <TextField source="usageCount" label="Used" sortable={false} />
        <TextField source="usageLimit" sortable={false} emptyText="∞" />
        <BooleanField source="active" sortable={false} />
      </Datagrid>
    </List>
  );
}

const parseNumber = (v: string) => (v === "" || v === null ? undefined : Number(v));

function PromotionForm() {
  return (
    <SimpleForm defaultValues={{ type: "percentage", active: true }}>
      <TextInput source="code" validate={required()} />
      <SelectInput source="type" choices={TYPES} validate={required()} />
      <NumberInput source="value" validate={required()} />
      <TextInput source="currency" helperText="Required for a fixed amount" />
      <NumberInput source="minSubtotal" parse={parseNumber} helperText="Minor units" />
      <DateTimeInput source="startsAt" />
      <DateTimeInput source="endsAt" />
      <NumberInput source="usageLimit" parse={parseNumber} />
      <NumberInput source="perCustomerLimit" parse={parseNumber} />
      <BooleanInput source="active" />
    </SimpleForm>
  );
}

export const PromotionCreate = () => (
  <Create redirect="list" mutationMode="pessimistic">
    <PromotionForm />
  </Create>
);
export const PromotionEdit = () => (
  <Edit mutationMode="pessimistic">
    <PromotionForm />
  </Edit>
);
