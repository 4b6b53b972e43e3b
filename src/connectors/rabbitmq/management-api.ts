// The RabbitMQ management HTTP API as the connector uses it: every path segment encoded, every call bounded in time and
// number, and errors that name the call and RabbitMQ's reason but never a password or an Authorization header.
import type { Secret } from "../../support/index.js";
import { Limiter } from "./limiter.js";

/** A path under `/api` whose every interpolated value went through encodeURIComponent; build it with `apiPath`. */
export interface ApiPath {
  readonly encoded: string;
}

/** `apiPath\`/users/${name}\`` → `/users/<encodeURIComponent(name)>`: no value ever reaches a URL raw. */
export function apiPath(strings: TemplateStringsArray, ...values: string[]): ApiPath {
  let encoded = strings[0] ?? "";
  values.forEach((value, i) => {
    encoded += encodeURIComponent(value) + (strings[i + 1] ?? "");
  });
  return { encoded };
}

export interface ApiResponse {
  readonly status: number;
  /** The parsed JSON body, or null when there was none. */
  readonly body: unknown;
}

export interface Login {
  readonly username: string;
  readonly password: Secret<string>;
}

export interface ManagementApiOptions {
  readonly targetId: string;
  readonly baseUrl: URL;
  /** Per request, headers and body included. */
  readonly timeoutMs: number;
  /** Requests in flight at once, across every caller of this connector. */
  readonly maxConcurrent: number;
}

/** Error from the management API; its message is safe to log (no secret, no header). */
export class ManagementApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or null when no answer came (connection refused, timeout). */
    readonly status: number | null,
  ) {
    super(message);
    this.name = "ManagementApiError";
  }
}

/** Socket errors of a reused connection, after which the request may be sent again on a new one. */
const RETRYABLE = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

function errorCode(error: unknown): string {
  // fetch wraps the socket error in `cause`; its code (ECONNREFUSED, ETIMEDOUT…) is what an operator needs.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if (current.name === "TimeoutError" || current.name === "AbortError") return "timeout";
    current = current.cause;
  }
  return error instanceof Error ? error.name : "unknown error";
}

/** RabbitMQ's `{error, reason}` as short text, with every secret the request carried cut out. */
function reasonOf(body: unknown, secrets: readonly string[]): string {
  if (body === null || typeof body !== "object") return "";
  const { error, reason } = body as { error?: unknown; reason?: unknown };
  let text = [error, reason]
    .filter((part) => part !== undefined)
    .map((part) => (typeof part === "string" ? part : JSON.stringify(part)))
    .join(": ")
    .slice(0, 300);
  for (const secret of secrets) if (secret.length > 0) text = text.split(secret).join("[REDACTED]");
  return text;
}

export class ManagementApi {
  readonly #o: ManagementApiOptions;
  readonly #limit: Limiter;
  readonly #base: string;

  constructor(options: ManagementApiOptions) {
    this.#o = options;
    this.#limit = new Limiter(options.maxConcurrent);
    this.#base = `${options.baseUrl.origin}${options.baseUrl.pathname.replace(/\/+$/, "")}/api`;
  }

  /** Where the API is, for messages: origin and path only (the settings refuse credentials in it). */
  get where(): string {
    return this.#base;
  }

  /**
   * One request as `login`. Resolves with any HTTP answer (the caller decides what 404 means); rejects with a
   * ManagementApiError when no answer came in time. `secrets` are values the body carries, cut from any message.
   */
  async request(
    login: Login,
    method: "GET" | "PUT" | "DELETE",
    path: ApiPath,
    options: { body?: unknown; reason?: string; secrets?: readonly string[] } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = {
      authorization: `Basic ${Buffer.from(`${login.username}:${login.password.reveal()}`).toString("base64")}`,
    };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    // RabbitMQ shows X-Reason to the client whose connection is closed.
    if (options.reason !== undefined) headers["x-reason"] = options.reason;
    const once = async (): Promise<{ response: Response; text: string }> => {
      const response = await fetch(`${this.#base}${path.encoded}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      return { response, text: await response.text() };
    };
    return this.#limit.run(async () => {
      let response: Response;
      let text: string;
      try {
        try {
          ({ response, text } = await once());
        } catch (error) {
          // A kept-alive socket the server (or a restart) closed fails on first use; every call here is idempotent
          // (GET, DELETE, PUT of a whole object), so one fresh attempt is safe.
          if (!RETRYABLE.has(errorCode(error))) throw error;
          ({ response, text } = await once());
        }
      } catch (error) {
        const code = errorCode(error);
        const hint =
          code === "ECONNREFUSED" ? " (is the management plugin on? rabbitmq-plugins enable rabbitmq_management)" : "";
        throw new ManagementApiError(
          `targets.${this.#o.targetId}: ${method} ${this.#base}${path.encoded} got no answer: ${code}${hint}`,
          null,
        );
      }
      let body: unknown = null;
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch {
          body = { error: "non-JSON answer" };
        }
      }
      return { status: response.status, body };
    });
  }

  /** The error for an answer the caller did not expect. */
  unexpected(
    method: string,
    path: ApiPath,
    response: ApiResponse,
    secrets: readonly string[] = [],
  ): ManagementApiError {
    const reason = reasonOf(response.body, secrets);
    return new ManagementApiError(
      `targets.${this.#o.targetId}: ${method} /api${path.encoded} answered ${response.status}${reason ? ` (${reason})` : ""}`,
      response.status,
    );
  }
}
