import {
  BooleanField,
  BooleanInput,
  Create,
  Datagrid,
  Edit,
  List,
  NumberInput,
  ReferenceField,
  ReferenceInput,
  SelectInput,
  SimpleForm,
  TextField,
  TextInput,
  required,
} from "react-admin";

export function ShippingOptionList() {
  return (
    <List
      perPage={25}
      exporter={false}
      filters={[<ReferenceInput key="regionId" source="regionId" reference="regions" alwaysOn />]}
    >
      <Datagrid rowClick="edit" bulkActionButtons={false}>
        <TextField source="name" sortable={false} />
        <ReferenceField source="regionId" reference="regions" sortable={false} />
        <TextField source="amount" sortable={false} />
        <TextField source="freeAbove" sortable={false} emptyText="–" />
        <BooleanField source="active" sortable={false} />
      </Datagrid>
    </List>
  );
}

function ShippingOptionForm() {
  return (
    <SimpleForm defaultValues={{ active: true }}>
      <TextInput source="name" validate={required()} />
      <ReferenceInput source="regionId" reference="regions">
        <SelectInput optionText="name" validate={required()} />
      </ReferenceInput>
      <NumberInput source="amount" validate={required()} helperText="Minor units of the region's currency" />
      <NumberInput source="freeAbove" helperText="Free from this subtotal (minor units)" />
      <BooleanInput source="active" />
    </SimpleForm>
  );
}

export const ShippingOptionCreate = () => (
  <Create redirect="list" mutationMode="pessimistic">
    <ShippingOptionForm />
  </Create>
);
export const ShippingOptionEdit = () => (
  <Edit mutationMode="pessimistic">
    <ShippingOptionForm />
  </Edit>
);
