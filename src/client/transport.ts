// The HTTP transport under EphemeraClient: one call to the broker with its headers, a timeout, and problems as errors.
import type { DpopProver } from "./dpop.js";
import { EphemeraApiError, EphemeraConfigError, EphemeraConnectionError, isProblem } from "./errors.js";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export type Body = { readonly json: unknown } | { readonly form: Readonly<Record<string, string>> };

export interface TransportOptions {
  /** The base URL, already normalised (see `normaliseUrl`). */
  readonly url: string;
  readonly token: string;
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
  /** Sent on every call: who drives the client (`x-ephemera-client…`). */
  readonly clientHeaders: Readonly<Record<string, string>>;
  readonly dpop: DpopProver | undefined;
}

/** Sends one call and reads its JSON answer; a problem document becomes EphemeraApiError, no answer EphemeraConnectionError. */
export class Transport {
  readonly url: string;
  readonly #token: string;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #clientHeaders: Readonly<Record<string, string>>;
  readonly #dpop: DpopProver | undefined;

  constructor(options: TransportOptions) {
    this.url = options.url;
    this.#token = options.token;
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs;
    this.#clientHeaders = options.clientHeaders;
    this.#dpop = options.dpop;
  }

  async call<T>(
    method: "GET" | "POST" | "PATCH",
    path: string,
    body?: Body,
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<T> {
    const headers: Record<string, string> = {
      accept: "application/json, application/problem+json",
      authorization: `Bearer ${this.#token}`,
      // Whether a person drives this client, on every call: policy sees it for requests and renewals alike.
      ...this.#clientHeaders,
      ...extraHeaders,
    };
    if (this.#dpop !== undefined) headers.dpop = await this.#dpop.proof(method, `${this.url}${path}`);
    let payload: string | undefined;
    if (body && "json" in body) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      payload = new URLSearchParams(body.form).toString();
    }

    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(`${this.url}${path}`, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw this.#connectionError(error);
    }

    const parsed = parseJson(text);
    if (response.ok) {
      if (parsed === undefined) {
        throw new EphemeraApiError(response.status, "invalid_response", "the broker's answer was not JSON", null);
      }
      return parsed as T;
    }
    if (isProblem(parsed)) throw new EphemeraApiError(response.status, parsed.code, parsed.detail, parsed);
    const detail = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""} from ${method} ${path.split("?")[0]}`;
    throw new EphemeraApiError(response.status, `http_${response.status}`, detail, null);
  }

  #connectionError(error: unknown): EphemeraConnectionError {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      return new EphemeraConnectionError(
        this.url,
        `no answer from the broker at ${this.url} within ${Math.round(this.#timeoutMs / 1000)}s`,
        { cause: error },
      );
    }
    return new EphemeraConnectionError(this.url, `cannot reach the broker at ${this.url} (${reasonOf(error)})`, {
      cause: error,
    });
  }
}

export function normaliseUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EphemeraConfigError(`${name}: not a URL (expected e.g. http://127.0.0.1:8720)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new EphemeraConfigError(`${name}: must be an http or https URL`);
  }
  url.username = "";
  url.password = "";
  url.search = "";
  url.hash = "";
  return url.toString().replace(/\/+$/, "");
}

/** A header value: printable ASCII only, at most 128 characters (the broker keeps no more). */
export function headerText(value: string): string {
  return value
    .replace(/[^\x20-\x7e]/g, "")
    .trim()
    .slice(0, 128);
}

export function segment(id: string): string {
  if (id.length === 0) throw new EphemeraConfigError("id: must not be empty");
  return encodeURIComponent(id);
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A short reason from fetch's nested causes (ECONNREFUSED, ENOTFOUND…); never a header or body. */
function reasonOf(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    if (current instanceof AggregateError) {
      const first: unknown = current.errors[0];
      if (first !== undefined) {
        current = first;
        continue;
      }
    }
    current = current.cause;
  }
  return error instanceof Error ? error.message : "unknown error";
}
