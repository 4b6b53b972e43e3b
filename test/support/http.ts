// One HTTP call to a broker process, for tests that drive real brokers over the network.

export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** Throws only when there is no HTTP answer (refused, reset, timed out); the body is JSON when it parses. */
export async function call(
  broker: { readonly url: string },
  method: "GET" | "POST",
  path: string,
  key: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const all: Record<string, string> = { ...headers };
  if (key !== null) all.authorization = `Bearer ${key}`;
  if (body !== undefined) all["content-type"] = "application/json";
  const response = await fetch(`${broker.url}${path}`, {
    method,
    headers: all,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text for messages
  }
  return { status: response.status, body: parsed };
}
