// Shows loaded API data, or says it is loading or why it could not be loaded.
import type { ComponentChildren } from "preact";
import type { Loaded } from "../api";

export function Show<T>(props: { loaded: Loaded<T>; what: string; children: (data: T) => ComponentChildren }) {
  const { loaded } = props;
  if (loaded.state === "loading") return <p class="muted">Loading {props.what}…</p>;
  if (loaded.state === "error") {
    return (
      <p class="error" role="alert">
        {loaded.status === 403 ? `Only admins can see ${props.what}.` : `Could not load ${props.what}: ${loaded.error}`}
      </p>
    );
  }
  return <>{props.children(loaded.data)}</>;
}
