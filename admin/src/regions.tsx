import {
  BooleanField,
  BooleanInput,
  Create,
  Datagrid,
  Edit,
  FunctionField,
  List,
  NumberInput,
  SimpleForm,
  TextField,
  TextInput,
  required,
} from "react-admin";

export function RegionList() {
  return (
    <List perPage={25} pagination={false} exporter={false}>
      <Datagrid rowClick="edit" bulkActionButtons={false}>
        <TextField source="name" sortable={false} />
        <TextField source="currency" sortable={false} />
        <FunctionField label="Countries" render={(r: any) => (r.countries ?? []).join(", ")} />
        <FunctionField label="Tax" render={(r: any) => `${(r.taxRate ?? 0) / 100} %`} />
        <BooleanField source="taxInclusive" sortable={false} />
      </Datagrid>
    </List>
  );
}

const countriesText = (v: string[] | undefined) => (v ?? []).join(", ");
const textCountries = (v: string) =>
  (v ?? "")
    .split(",")
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean);

function RegionForm() {
  return (
    <SimpleForm defaultValues={{ taxRate: 0, taxInclusive: false, countries: [] }}>
      <TextInput source="name" validate={required()} />
      <TextInput source="currency" validate={required()} helperText="ISO code, e.g. EUR" />
      <TextInput
        source="countries"
        format={countriesText}
        parse={textCountries}
        helperText="ISO 3166-1 alpha-2 codes, comma separated"
      />
      <NumberInput source="taxRate" helperText="Basis points: 2000 = 20 %" min={0} max={10000} />
      <BooleanInput source="taxInclusive" />
    </SimpleForm>
  );
}

export const RegionCreate = () => (
  <Create redirect="list" mutationMode="pessimistic">
    <RegionForm />
  </Create>
);
export const RegionEdit = () => (
  <Edit mutationMode="pessimistic">
    <RegionForm />
  </Edit>
);
