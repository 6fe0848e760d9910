import {
  BooleanField,
  BooleanInput,
  Create,
  Datagrid,
  DateField,
  Edit,
  FunctionField,
  List,
  SimpleForm,
  TextField,
  TextInput,
  required,
  useNotify,
  useRedirect,
} from "react-admin";

const eventsText = (v: string[] | undefined) => (v ?? []).join(", ");
const textEvents = (v: string) =>
  (v ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);

export function WebhookList() {
  return (
    <List perPage={25} exporter={false}>
      <Datagrid rowClick="edit" bulkActionButtons={false}>
        <TextField source="url" sortable={false} />
        <FunctionField label="Events" render={(r: any) => (r.events ?? []).join(", ")} />
        <BooleanField source="active" sortable={false} />
        <DateField source="createdAt" sortable={false} />
      </Datagrid>
    </List>
  );
}

function WebhookForm() {
  return (
    <SimpleForm defaultValues={{ active: true, events: ["*"] }}>
      <TextInput source="url" validate={required()} fullWidth helperText="https:// only" />
      <TextInput
        source="events"
        format={eventsText}
        parse={textEvents}
        fullWidth
        helperText="e.g. order.placed, order.paid; * for all"
      />
      <BooleanInput source="active" />
    </SimpleForm>
  );
}

/** The signing secret is in the creation's answer only: it stays on screen until dismissed. */
export function WebhookCreate() {
  const notify = useNotify();
  const redirect = useRedirect();
  return (
    <Create
      mutationMode="pessimistic"
      mutationOptions={{
        onSuccess: (data: any) => {
          notify(`Signing secret (shown only now): ${data.secret}`, { type: "info", autoHideDuration: null });
          redirect("list", "webhooks");
        },
      }}
    >
      <WebhookForm />
    </Create>
  );
}
export const WebhookEdit = () => (
  <Edit mutationMode="pessimistic">
    <WebhookForm />
  </Edit>
);
