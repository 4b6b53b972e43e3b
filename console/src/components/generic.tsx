// Any JSON value as nested definition lists, for data without a fixed shape.
import { when } from "../hooks";
import { Field } from "./field";

/** Renders any JSON value as nested definition lists (receipts and event data have no fixed shape here). */
export function Generic(props: { value: unknown; name?: string }): preact.JSX.Element {
  const v = props.value;
  // Times recorded as epoch milliseconds (`expiresAt: 1795…`) read better as dates.
  if (typeof v === "number" && props.name?.endsWith("At") && v > 1e12) {
    return <time dateTime={new Date(v).toISOString()}>{when(new Date(v).toISOString())}</time>;
  }
  if (v === null || v === undefined) return <span class="muted">—</span>;
  if (Array.isArray(v)) {
    if (v.length === 0) return <span class="muted">none</span>;
    return (
      <ul class="generic">
        {v.map((item, i) => (
          <li key={i}>
            <Generic value={item} />
          </li>
        ))}
      </ul>
    );
  }
  if (typeof v === "object") {
    return (
      <dl class="generic">
        {Object.entries(v as Record<string, unknown>).map(([k, item]) => (
          <Field key={k} label={k}>
            <Generic value={item} name={k} />
          </Field>
        ))}
      </dl>
    );
  }
  return <span>{String(v)}</span>;
}
