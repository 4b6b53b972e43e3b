// An inline yes-or-cancel confirmation for a dangerous action.
import { useEffect, useRef } from "preact/hooks";

/** An inline confirmation: focus lands on Cancel, so a stray Enter does nothing harmful; Escape cancels. */
export function ConfirmBar(props: { label: string; confirm: string; onConfirm: () => void; onCancel: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <fieldset
      class="confirm"
      onKeyDown={(e) => {
        if (e.key === "Escape") props.onCancel();
      }}
    >
      <legend>{props.label}</legend>
      <button type="button" class="danger" onClick={props.onConfirm}>
        {props.confirm}
      </button>
      <button type="button" ref={cancel} onClick={props.onCancel}>
        Cancel
      </button>
    </fieldset>
  );
}
