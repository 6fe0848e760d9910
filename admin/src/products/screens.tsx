import { Typography } from "@mui/material";
import {
  ArrayInput,
  BooleanField,
  BooleanInput,
  Create,
  Datagrid,
  DeleteWithConfirmButton,
  Edit,
  FormDataConsumer,
  FunctionField,
  List,
  NullableBooleanInput,
  NumberInput,
  SaveButton,
  SearchInput,
  SimpleForm,
  SimpleFormIterator,
  TextField,
  TextInput,
  Toolbar,
  required,
  useRecordContext,
} from "react-admin";
import { money, toMajor, toMinor } from "../format";
import { ActiveToggleButton } from "../common";

const filters = [
  <SearchInput key="q" source="q" alwaysOn />,
  <TextInput key="category" source="category" />,
  <NullableBooleanInput
    key="inStock"
    source="inStock"
    label="In stock"
    trueLabel="In stock only"
    falseLabel="Any"
  />,
];

export function ProductList() {
  return (
    <List filters={filters} sort={{ field: "createdAt", order: "DESC" }} perPage={25}>
      <Datagrid rowClick="edit" bulkActionButtons={false}>
        <TextField source="name" />
        <TextField source="sku" sortable={false} />
        <TextField source="category" sortable={false} />
        <FunctionField
          label="Price"
          sortBy="price"
          source="price"
          render={(r: any) => money(r.price, r.currency)}
        />
        <TextField source="available" label="Stock" sortable={false} />
        <FunctionField label="Variants" render={(r: any) => r.variants?.length ?? 1} />
        <BooleanField source="active" sortable={false} />
      </Datagrid>
    </List>
  );
}

const MoneyInput = (props: { source: string; label?: string; validate?: any; helperText?: string }) => (
  <NumberInput {...props} step={0.01} format={toMajor} parse={toMinor} />
);

const PriceList = ({ source }: { source: string }) => (
  <ArrayInput source={source} label="Prices in other currencies">
    <SimpleFormIterator inline disableReordering>
      <TextInput source="currency" label="Currency" helperText="ISO code, e.g. EUR" />
      <MoneyInput source="amount" label="Amount" />
    </SimpleFormIterator>
  </ArrayInput>
);

const listOfValues = (v: string[] | undefined) => (v ?? []).join(", ");
const valuesOfText = (v: string) => (v ?? "").split(",").map((s) => s.trimStart());

function ProductFields({ creating }: { creating: boolean }) {
  return (
    <>
      <TextInput source="name" validate={required()} />
      {creating && <TextInput source="sku" helperText="Optional: generated when empty" />}
      <TextInput source="description" multiline fullWidth />
      <TextInput source="category" />
      <MoneyInput
        source="price"
        label="Base price"
        validate={required()}
        helperText="Variants without a price take it"
      />
      <TextInput source="currency" helperText="Default USD" />
      <PriceList source="priceList" />
      <Typography variant="h6" component="h2">
        Options and variants
      </Typography>
      <ArrayInput source="options" label="Options (e.g. Size: S, M, L)">
        <SimpleFormIterator inline disableReordering disableRemove={!creating}>
          <TextInput source="name" label="Option" disabled={!creating} />
          <TextInput
            source="values"
            label="Values (comma separated)"
            format={listOfValues}
            parse={valuesOfText}
          />
        </SimpleFormIterator>
      </ArrayInput>
      <FormDataConsumer>
        {({ formData }) =>
          (formData.options ?? []).length > 0 ? (
            <ArrayInput source="variants" label="Variants">
              <SimpleFormIterator disableReordering>
                <TextInput source="values" label="Option values (e.g. M / Red)" validate={required()} />
                <TextInput source="sku" label="Variant SKU" validate={required()} />
                <MoneyInput source="price" label="Price" helperText="Empty: the base price" />
                <PriceList source="priceList" />
                <NumberInput source="stock" label="Stock" min={0} step={1} />
                {!creating && <BooleanInput source="active" label="Active" />}
              </SimpleFormIterator>
            </ArrayInput>
          ) : (
            <NumberInput source="stock" label="Stock" min={0} step={1} />
          )
        }
      </FormDataConsumer>
      {!creating && <BooleanInput source="active" />}
    </>
  );
}

export function ProductCreate() {
  return (
    <Create redirect="edit" mutationMode="pessimistic">
      <SimpleForm defaultValues={{ currency: "USD", options: [], variants: [], priceList: [] }}>
        <ProductFields creating />
      </SimpleForm>
    </Create>
  );
}

function ProductToolbar() {
  const record = useRecordContext();
  return (
    <Toolbar sx={{ display: "flex", gap: 2 }}>
      <SaveButton />
      {record && <ActiveToggleButton resource="products" />}
      <DeleteWithConfirmButton
        mutationMode="pessimistic"
        confirmTitle="Delete this product?"
        confirmContent="It is removed from the catalogue; past orders keep their lines."
        sx={{ ml: "auto" }}
      />
    </Toolbar>
  );
}

export function ProductEdit() {
  return (
    <Edit mutationMode="pessimistic">
      <SimpleForm toolbar={<ProductToolbar />}>
        <ProductFields creating={false} />
      </SimpleForm>
    </Edit>
  );
}
