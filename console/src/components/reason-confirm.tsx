// A confirmation that asks for a reason, for actions the audit trail must explain.
import { useEffect, useRef, useState } from "preact/hooks";

/**
 * A confirmation that needs a reason (kept in the audit trail): focus lands on the reason, the action cannot be
 * confirmed while it is empty, Escape cancels.
 */
export function ReasonConfirm(props: {
  id: string;
  action: "offboard" | "reactivate";
  activeGrants: number;
  onConfirm: (reason: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const field = `reason-${props.action}-${props.id}`;
  const verb = props.action === "offboard" ? "Offboard" : "Reactivate";
  return (
    <form
      class="confirm"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!reason.trim()) return;
        setBusy(true);
        try {
          await props.onConfirm(reason.trim());
        } finally {
          setBusy(false);
        }
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape") props.onCancel();
      }}
    >
      <fieldset>
        <legend>
          {`${verb} ${props.id}?`}
          {props.action === "offboard"
            ? ` This disables it for good${props.activeGrants > 0 ? ` and ends its ${props.activeGrants} active grant(s)` : ""}.`
            : ""}
        </legend>
        <label for={field}>Reason (required)</label>
        <input
          id={field}
          ref={input}
          required
          maxLength={500}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <button
          type="submit"
          class={props.action === "offboard" ? "danger" : "primary"}
          disabled={busy || !reason.trim()}
        >
          {`Yes, ${props.action}`}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </fieldset>
    </form>
  );
}
