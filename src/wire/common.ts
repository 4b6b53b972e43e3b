// Building blocks every wire schema shares: times, nullables, durations, ids and the problem document.
import Type from "typebox";

/** An RFC 3339 instant, or null where the moment has not come (or cannot be known). */
export const Time = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);
export const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A duration such as "15m", "1h30m", "90s", or whole seconds. */
export const Duration = Type.Union([Type.String({ maxLength: 32 }), Type.Integer()], {
  description: '"15m", "1h30m", "90s" or whole seconds',
});

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }) });

/** An RFC 9457 problem document as the broker sends it. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: "urn:ephemera:problem:<code>; stable" }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
