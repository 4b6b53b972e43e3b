// The status line pages show after an action, read out by screen readers.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

/** A status line read out by screen readers when it changes. */
export function useStatus(): [ComponentChildren, (text: string, kind?: "ok" | "error") => void] {
  const [status, setStatus] = useState<{ text: string; kind: string } | null>(null);
  const node = (
    <p class={status?.kind === "error" ? "error" : "ok"} role="status" aria-live="polite">
      {status?.text ?? ""}
    </p>
  );
  return [node, (text, kind = "ok") => setStatus({ text, kind })];
}
