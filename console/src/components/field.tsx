// One label and value of a definition list.
import type { ComponentChildren } from "preact";

export function Field(props: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}
