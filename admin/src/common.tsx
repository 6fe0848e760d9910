/** Pieces the screens share: a confirmed action button that shows the API's error when refused. */
import {
  Button as MuiButton,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  TextField,
} from "@mui/material";
import { useState, type ReactNode } from "react";
import { Button, useDataProvider, useNotify, useRecordContext, useRefresh } from "react-admin";
import type { ShopDataProvider } from "./dataProvider";

/**
 * A button that asks first, then runs `run`; a refusal (409, 422, ...) is shown with the API's
 * own message. `field`: a text the dialog asks for (a refund's amount, a reason).
 */
export function ConfirmAction(props: {
  label: string;
  title: string;
  content?: ReactNode;
  fields?: { name: string; label: string; type?: string; defaultValue?: string }[];
  run: (values: Record<string, string>) => Promise<unknown>;
  done: string;
  disabled?: boolean;
  color?: "primary" | "error" | "warning";
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [values, setValues] = useState<Record<string, string>>({});
  const notify = useNotify();
  const refresh = useRefresh();
  const start = () => {
    setValues(Object.fromEntries((props.fields ?? []).map((f) => [f.name, f.defaultValue ?? ""])));
    setOpen(true);
  };
  const confirm = async () => {
    setBusy(true);
    try {
      await props.run(values);
      notify(props.done, { type: "success" });
      setOpen(false);
      refresh();
    } catch (err: any) {
      notify(err?.message ?? "Refused", { type: "error" });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button
        label={props.label}
        onClick={start}
        disabled={props.disabled}
        color={props.color ?? "primary"}
      />
      <Dialog open={open} onClose={() => setOpen(false)} aria-labelledby={`dialog-${props.label}`}>
        <DialogTitle id={`dialog-${props.label}`}>{props.title}</DialogTitle>
        <DialogContent>
          {props.content}
          {(props.fields ?? []).map((f) => (
            <TextField
              key={f.name}
              margin="dense"
              fullWidth
              label={f.label}
              type={f.type ?? "text"}
              name={f.name}
              value={values[f.name] ?? ""}
              onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
            />
          ))}
        </DialogContent>
        <DialogActions>
          <MuiButton onClick={() => setOpen(false)}>Cancel</MuiButton>
          <MuiButton onClick={confirm} disabled={busy} variant="contained" color={props.color ?? "primary"}>
            Confirm
          </MuiButton>
        </DialogActions>
      </Dialog>
    </>
  );
}

/** Deactivate / activate the record (a PATCH of `active`), confirmed. */
export function ActiveToggleButton({ resource }: { resource: string }) {
  const record = useRecordContext();
  const dataProvider = useDataProvider<ShopDataProvider>();
  if (!record) return null;
  const active = record.active !== false;
  return (
    <ConfirmAction
      label={active ? "Deactivate" : "Activate"}
      title={active ? "Deactivate it? It stops being sold." : "Activate it again?"}
      run={() => dataProvider.setActive(resource, record.id, !active)}
      done={active ? "Deactivated" : "Activated"}
      color={active ? "warning" : "primary"}
    />
  );
}
