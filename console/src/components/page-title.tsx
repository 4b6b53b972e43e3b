// The page heading, focused when the page changes.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** The page heading; focus moves to it when the page changes, so keyboard and screen-reader users start there. */
export function PageTitle(props: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 id="page-title" tabIndex={-1} ref={ref}>
      {props.children}
    </h1>
  );
}
