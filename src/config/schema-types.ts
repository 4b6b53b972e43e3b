// The option types every section's schema uses: durations and names.
import Type from "typebox";
import type { DurationText } from "./reader.js";

/** A duration option; `default` (from defaults.ts) when the file may leave it out. */
export const Duration = (options: { default?: DurationText } = {}) =>
  Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], {
    description: 'a duration such as "90s", "15m", "1h30m", "2d", or whole seconds',
    ...options,
  });

export const Name = Type.String({
  pattern: "^[a-z0-9][a-z0-9_-]{0,62}$",
  description: "lower-case letters, digits, - and _",
});
