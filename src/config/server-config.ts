// The `server` and `console` sections: where the broker listens and is reached, HTTPS, body and rate limits, console sessions.
import { Secret } from "../support/index.js";
import { DEFAULTS } from "./defaults.js";
import type { ConfigReader } from "./reader.js";
import type { RawConfig } from "./schema.js";

export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface RateLimits {
  readonly authFailures: RateLimit;
  readonly signIns: RateLimit;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string;
  /** Null when turned off (`server.rateLimit: false`). */
  readonly rateLimit: RateLimits | null;
  /** Proxies whose X-Forwarded-For is believed; empty: none (the peer's address is the caller's). */
  readonly trustProxy: readonly string[];
  readonly bodyLimit: number;
  /** HTTPS material, read at load; null serves plain HTTP. */
  readonly tls: {
    readonly cert: string;
    readonly key: Secret<string>;
    /** PEM of the CAs client certificates must chain to; when set the server asks for client certificates. */
    readonly clientCa: string | null;
  } | null;
}

type RawServer = NonNullable<RawConfig["server"]>;

/** Host, port and public URL; EPHEMERA_LISTEN (or `ephemera server --listen`) overrides the file: a busy port needs no YAML edit. */
export function listenAddress(
  server: RawServer | undefined,
  r: ConfigReader,
): Pick<ServerConfig, "host" | "port" | "publicUrl"> {
  const listenOverride = r.env.EPHEMERA_LISTEN;
  const [host, port] =
    listenOverride !== undefined && listenOverride !== ""
      ? parseListen(listenOverride, "EPHEMERA_LISTEN", r.problems)
      : parseListen(server?.listen ?? DEFAULTS.server.listen, "server.listen", r.problems);
  const scheme = server?.tls ? "https" : "http";
  const publicUrl = (server?.publicUrl ?? `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`).replace(
    /\/$/,
    "",
  );
  return { host, port, publicUrl };
}

/** Reads the certificate, key and client CAs named in `server.tls`; null when the server speaks plain HTTP. */
export function serverTls(tls: RawServer["tls"], r: ConfigReader): ServerConfig["tls"] {
  if (!tls) return null;
  const cert = r.readText(tls.cert, "server.tls.cert");
  const key = r.readText(tls.key, "server.tls.key");
  const clientCa = tls.clientCa === undefined ? null : r.readText(tls.clientCa, "server.tls.clientCa");
  if (cert !== null && !cert.includes("BEGIN CERTIFICATE"))
    r.problems.push("server.tls.cert: holds no PEM certificate");
  if (key !== null && !/BEGIN [A-Z ]*PRIVATE KEY/.test(key))
    r.problems.push("server.tls.key: holds no PEM private key");
  if (clientCa !== null && !clientCa.includes("BEGIN CERTIFICATE")) {
    r.problems.push("server.tls.clientCa: holds no PEM certificate");
  }
  return { cert: cert ?? "", key: new Secret(key ?? ""), clientCa };
}

/** Per-source limits on failed authentications and console sign-ins; on by default, `false` turns them off. */
export function rateLimits(raw: RawServer["rateLimit"], r: ConfigReader): RateLimits | null {
  if (raw === false) return null;
  const limit = (name: "authFailures" | "signIns"): RateLimit => {
    const given = raw?.[name];
    const fallback = DEFAULTS.server.rateLimit[name];
    return {
      max: given?.max ?? fallback.max,
      windowMs: Math.max(1, r.seconds(given?.window, `server.rateLimit.${name}.window`, fallback.window)) * 1000,
    };
  };
  return { authFailures: limit("authFailures"), signIns: limit("signIns") };
}

/** How long an unused console session lasts, at least a minute. */
export function consoleIdleMs(raw: string | number | undefined, r: ConfigReader): number {
  const idle = r.seconds(raw, "console.idleTimeout", DEFAULTS.console.idleTimeout);
  if (idle < 60) r.problems.push("console.idleTimeout: must be at least 1m");
  return Math.max(60, idle) * 1000;
}

function parseListen(listen: string, at: string, problems: string[]): [string, number] {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65535) {
    problems.push(`${at}: '${listen}' must be host:port, e.g. 127.0.0.1:8720`);
    return ["", 0]; // never used: a problem stops the load
  }
  return [match[1]!.replace(/^\[|\]$/g, ""), port];
}
