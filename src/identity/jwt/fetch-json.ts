// Fetches a small JSON document from an issuer (discovery, a JWKS, a token response): no redirects, a deadline, a size cap.
import { KeysUnavailableError } from "./verify-workload-jwt.js";

export interface FetchJsonOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** A form POST instead of a GET (a token endpoint); its answer is read the same way whatever its status. */
  readonly form?: { readonly body: URLSearchParams; readonly headers?: Readonly<Record<string, string>> };
}

/** The URL without its query, for messages: a query may carry a code or a secret. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** The parsed JSON body and status. A GET answers 200 only; a form POST answers any status with a JSON body. */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    // No redirects: a redirect is how an allowed host would send the broker somewhere it was never configured to go.
    response = await fetch(url, {
      redirect: "error",
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(options.form
        ? {
            method: "POST",
            body: options.form.body.toString(),
            headers: {
              accept: "application/json",
              "content-type": "application/x-www-form-urlencoded",
              ...options.form.headers,
            },
          }
        : { headers: { accept: "application/json" } }),
    });
  } catch (error) {
    throw new KeysUnavailableError(`${describeUrl(url)} could not be fetched (${(error as Error).name})`, {
      cause: error,
    });
  }
  if (!options.form && response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new KeysUnavailableError(`${describeUrl(url)} answered ${response.status}`);
  }
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new KeysUnavailableError(`${describeUrl(url)} is larger than ${options.maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (!reader) throw new KeysUnavailableError(`${describeUrl(url)} sent no body`);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > options.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new KeysUnavailableError(`${describeUrl(url)} is larger than ${options.maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof KeysUnavailableError) throw error;
    throw new KeysUnavailableError(`${describeUrl(url)} could not be read (${(error as Error).name})`, {
      cause: error,
    });
  }
  try {
    return { status: response.status, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
  } catch {
    throw new KeysUnavailableError(`${describeUrl(url)} answered ${response.status} with a body that is not JSON`);
  }
}
