// `ephemera dev-issuer serve|mint`: a local OIDC issuer (JWKS on 127.0.0.1) and workload tokens it signs, for the demo.
import { resolve } from "node:path";
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { UsageError } from "../exit-codes.js";

const DEFAULT_KEY_FILE = "./data/dev-issuer.key.json";
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError("--port: a port number 0-65535");
  return port;
}

export function registerDevIssuer(program: Command, cli: Cli): void {
  const command = program
    .command("dev-issuer")
    .description("a local OIDC issuer for trying workload authentication (demo and tests only; loopback only)");

  command
    .command("serve")
    .description("serve OIDC discovery and the JWKS on 127.0.0.1 until stopped")
    .option("--port <port>", "port on 127.0.0.1", "8721")
    .option("--key-file <file>", "the issuer's key (created on first use, mode 0600)", DEFAULT_KEY_FILE)
    .action(async (options: { port: string; keyFile: string }) => {
      const { loadOrCreateDevIssuerKey, serveDevIssuer } = await import("../../identity/dev-issuer/dev-issuer.js");
      const key = await loadOrCreateDevIssuerKey(resolve(options.keyFile));
      const running = await serveDevIssuer(key, parsePort(options.port));
      cli.print(
        [
          `dev issuer at ${running.issuer} (discovery: ${running.issuer}/.well-known/openid-configuration)`,
          "Mint a token in another shell:",
          `  npx ephemera dev-issuer mint --sub repo:acme/demo:ref:refs/heads/main --claim repository=acme/demo --claim ref=refs/heads/main`,
        ].join("\n"),
      );
      const signal = await new Promise<NodeJS.Signals>((done) => {
        for (const s of STOP_SIGNALS) cli.io.signals.on(s, () => done(s));
      });
      cli.warn(`${signal} received: stopping the dev issuer`);
      await running.close();
    });

  command
    .command("mint")
    .description("print a workload token signed by the dev issuer's key")
    .requiredOption("--sub <subject>", "the token's subject")
    .option("--aud <audience>", "the audience the broker expects", "ephemera")
    .option("--issuer <url>", "the issuer URL the token names", "http://127.0.0.1:8721")
    .option("--ttl <seconds>", "lifetime in seconds", "300")
    .option("--claim <name=value>", "an extra claim (repeatable), e.g. repository=acme/demo", collect, [])
    .option("--key-file <file>", "the issuer's key (created on first use, mode 0600)", DEFAULT_KEY_FILE)
    .action(
      async (options: { sub: string; aud: string; issuer: string; ttl: string; claim: string[]; keyFile: string }) => {
        const ttl = Number(options.ttl);
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) throw new UsageError("--ttl: 1 to 86400 seconds");
        const claims: Record<string, string> = {};
        for (const entry of options.claim) {
          const at = entry.indexOf("=");
          if (at < 1) throw new UsageError(`--claim: '${entry.slice(0, 40)}' is not name=value`);
          claims[entry.slice(0, at)] = entry.slice(at + 1);
        }
        const { loadOrCreateDevIssuerKey, mintDevToken } = await import("../../identity/dev-issuer/dev-issuer.js");
        const key = await loadOrCreateDevIssuerKey(resolve(options.keyFile));
        const token = await mintDevToken(key, {
          issuer: options.issuer.replace(/\/$/, ""),
          subject: options.sub,
          audience: options.aud,
          ttlSeconds: ttl,
          claims,
        });
        cli.print(token);
      },
    );
}
