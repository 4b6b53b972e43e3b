// The http connector's client: one bounded keep-alive pool per target, a hard timeout per call, no redirects, a capped
// answer size, and errors that name the call but never a header (header values are API tokens).
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Secret } from "../../support/index.js";
import type { Method } from "./settings.js";

/** Largest answer read; a listing bigger than this needs paging the connector does not do. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Sockets per target: enough for overlapping grants, small enough not to flood a SaaS rate limit. */
const MAX_SOCKETS = 8;

export interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** A call that got no HTTP answer: refused, reset, timed out, too large. Its message is safe to log. */
export class HttpCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpCallError";
  }
}

const IDEMPOTENT: ReadonlySet<Method> = new Set(["GET", "HEAD", "PUT", "DELETE"]);

function reasonOf(error: unknown): string {
  if (error instanceof HttpCallError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // Node's network errors carry a code and the address only; anything else is reduced to its name.
  if (typeof code === "string") return code;
  return error instanceof Error ? error.name : "unknown error";
}

export class HttpClient {
  readonly #base: URL;
  readonly #headers: Secret<Readonly<Record<string, string>>>;
  readonly #timeoutMs: number;
  readonly #agent: HttpAgent;
  readonly #send: typeof httpRequest;

  constructor(base: URL, headers: Secret<Readonly<Record<string, string>>>, timeoutMs: number) {
    this.#base = base;
    this.#headers = headers;
    this.#timeoutMs = timeoutMs;
    const https = base.protocol === "https:";
    const options = { keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: 4, timeout: timeoutMs };
    this.#agent = https ? new HttpsAgent(options) : new HttpAgent(options);
    this.#send = https ? httpsRequest : httpRequest;
  }

  /** Sends one call to `path` below the base URL. Resolves with any HTTP answer; rejects only when there is none. */
  async send(method: Method, path: string, body: unknown): Promise<HttpAnswer> {
    try {
      return await this.#once(method, path, body);
    } catch (error) {
      // A keep-alive socket the server closed while idle fails at once; an idempotent call is safe to send again.
      if (error instanceof StaleSocketError && IDEMPOTENT.has(method)) return this.#once(method, path, body);
      throw new HttpCallError(reasonOf(error instanceof StaleSocketError ? error.cause : error));
    }
  }

  #once(method: Method, path: string, body: unknown): Promise<HttpAnswer> {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body), "utf8");
    const headers: Record<string, string> = { accept: "application/json" };
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(payload.length);
    }
    const configured = this.#headers.reveal();
    for (const [name, value] of Object.entries(configured)) {
      // A configured header wins over our defaults, whatever its case.
      for (const own of Object.keys(headers)) if (own === name.toLowerCase()) delete headers[own];
      headers[name] = value;
    }
    const basePath = this.#base.pathname.replace(/\/+$/, "");
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | null, answer?: HttpAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(answer!);
      };
      const req = this.#send({
        agent: this.#agent,
        protocol: this.#base.protocol,
        hostname: this.#base.hostname.replace(/^\[|\]$/g, ""),
        port: this.#base.port === "" ? undefined : Number(this.#base.port),
        method,
        path: `${basePath}${path}` || "/",
        headers,
      });
      const timer = setTimeout(() => {
        const error = new HttpCallError(`no answer within ${this.#timeoutMs} ms`);
        finish(error);
        req.destroy(error);
      }, this.#timeoutMs);
      req.on("error", (error) => {
        const stale = req.reusedSocket && (error as NodeJS.ErrnoException).code === "ECONNRESET";
        finish(stale ? new StaleSocketError(error) : error);
      });
      req.on("response", (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            const error = new HttpCallError(`answer larger than ${MAX_BODY_BYTES} bytes`);
            finish(error);
            res.destroy(error);
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => finish(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", (error) => finish(error));
        res.on("close", () => {
          if (!res.complete) finish(new HttpCallError("the answer was cut off"));
        });
      });
      req.end(payload ?? undefined);
    });
  }

  /** Ends every pooled socket. */
  close(): void {
    this.#agent.destroy();
  }
}

class StaleSocketError extends Error {
  constructor(cause: unknown) {
    super("stale keep-alive socket", { cause });
  }
}
