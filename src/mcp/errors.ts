// What a tool answers when it cannot do what the model asked: the broker's problem code and detail, or one of the
// server's own codes (limits, sinks, grants of another session). Never a secret, never a stack.
import { AuthUnavailableError } from "../agent/index.js";
import { EphemeraApiError, EphemeraConfigError, EphemeraConnectionError } from "../client/index.js";

/** A refusal by `ephemera mcp` itself (before or after the broker): a stable code and a sentence for the model. */
export class ToolError extends Error {
  readonly code: string;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, extra: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = "ToolError";
    this.code = code;
    this.extra = extra;
  }
}

/** The MCP tool result for a failure: `isError`, a short text, and the code in structured content. */
export function toolErrorResult(error: unknown): {
  isError: true;
  content: { type: "text"; text: string }[];
  structuredContent: Record<string, unknown>;
} {
  const body = errorBody(error);
  return {
    isError: true,
    content: [{ type: "text", text: `${body.code}: ${body.detail}` }],
    structuredContent: { error: body },
  };
}

function errorBody(error: unknown): { code: string; detail: string; [key: string]: unknown } {
  if (error instanceof ToolError) return { code: error.code, detail: error.message, ...error.extra };
  if (error instanceof EphemeraApiError) {
    const requestId = error.problem?.requestId;
    const field = error.problem?.field;
    return {
      code: error.code,
      detail: error.detail,
      status: error.status,
      source: "broker",
      ...(typeof requestId === "string" ? { requestId } : {}),
      ...(typeof field === "string" ? { field } : {}),
    };
  }
  if (error instanceof EphemeraConnectionError) {
    return { code: "broker_unreachable", detail: error.message };
  }
  if (error instanceof EphemeraConfigError) return { code: "invalid_request", detail: error.message };
  // The agent configuration's auth source has no usable token now (e.g. the file was not rotated since the last
  // request): the call can be retried once the platform provides a new one.
  if (error instanceof AuthUnavailableError) return { code: "auth_unavailable", detail: error.message };
  // Anything else is this server's bug: say so without details that could carry a value.
  return { code: "internal_error", detail: "ephemera mcp failed to handle this call; see its log" };
}
