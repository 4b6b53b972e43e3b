// The agent's own workload identity towards the broker: a fresh token for every call (files are re-read, commands
// re-run), so rotated platform tokens work and a single-use workload token is never presented twice.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { type AuthSource, AuthUnavailableError, createAuthSource, type TokenPurpose } from "../agent/index.js";
import { type DpopProver, EphemeraClient, EphemeraConfigError, loadDpopKeyFile } from "../client/index.js";
import type { McpConfig } from "./config.js";

const COMMAND_TIMEOUT_MS = 10_000;
const TOKEN_MAX_BYTES = 64 * 1024;

/** What the MCP client says of itself at initialisation, carried to the broker for policy and audit. */
export interface ClientInfo {
  readonly name: string;
  readonly version: string;
}

export type { TokenPurpose };

export class BrokerAccess {
  readonly url: string;
  readonly #broker: McpConfig["broker"];
  /** The `ephemera agent` auth source, when the identity comes from an agent configuration. */
  readonly #agent: AuthSource | null;
  #apiKey: string | null = null;
  #dpop: Promise<DpopProver> | null = null;

  constructor(broker: McpConfig["broker"], env: Readonly<Record<string, string | undefined>> = process.env) {
    this.url = broker.url;
    this.#broker = broker;
    this.#agent = broker.auth.kind === "agentConfig" ? createAuthSource(broker.auth.source, { ...env }) : null;
  }

  /** Where the identity comes from, for the log (a path or variable name, never a token). */
  get describe(): string {
    const auth = this.#broker.auth;
    if (this.#agent !== null) return `${this.#agent.describe} (from ${auth.kind === "agentConfig" ? auth.file : ""})`;
    return auth.kind;
  }

  /**
   * Reads the API key (or token) and the DPoP key once at start, so a missing one stops the server before any client
   * connects. A single-use workload token is only read here, not spent.
   */
  async check(): Promise<void> {
    try {
      await this.#token("call");
    } catch (error) {
      if (error instanceof AuthUnavailableError) {
        throw new EphemeraConfigError(`broker.auth.agentConfig: ${error.message}`);
      }
      throw error;
    }
    await this.#dpopProver();
  }

  /**
   * A client for one call, with the current token and the MCP client's name and version. `request`: the call asks
   * for (or collects) a credential, so an agent-config source hands out a token never sent with a request before.
   */
  async client(info: ClientInfo | null, purpose: TokenPurpose = "call"): Promise<EphemeraClient> {
    const dpop = await this.#dpopProver();
    return new EphemeraClient({
      url: this.url,
      token: await this.#token(purpose),
      clientKind: "mcp",
      ...(info ? { clientInfo: info } : {}),
      ...(dpop ? { dpop } : {}),
    });
  }

  #dpopProver(): Promise<DpopProver> | null {
    const key = this.#broker.dpop;
    if (key === null) return null;
    this.#dpop ??= loadDpopKeyFile(key.keyFile, { create: key.create });
    return this.#dpop;
  }

  async #token(purpose: TokenPurpose): Promise<string> {
    const auth = this.#broker.auth;
    switch (auth.kind) {
      case "token":
        return auth.value;
      case "apiKeyFile":
        this.#apiKey ??= await readToken(auth.path, "broker.auth.apiKeyFile");
        return this.#apiKey;
      case "tokenFile":
        return readToken(auth.path, "broker.auth.tokenFile");
      case "tokenCommand":
        return runTokenCommand(auth.argv);
      case "agentConfig":
        // The agent's own source (made in the constructor): it knows which tokens were already sent with a request.
        return (this.#agent as AuthSource).token(purpose);
    }
  }
}

/** A token (or API key, or bearer) from a file, trimmed; errors name the setting `key` and never quote the content. */
export async function readToken(path: string, key: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new EphemeraConfigError(`${key}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const token = text.trim();
  if (!/^[\x21-\x7e]+$/.test(token)) throw new EphemeraConfigError(`${key}: ${path} does not hold a token`);
  return token;
}

function runTokenCommand(argv: readonly string[]): Promise<string> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(
      file ?? "",
      args,
      { timeout: COMMAND_TIMEOUT_MS, maxBuffer: TOKEN_MAX_BYTES, windowsHide: true },
      (error, stdout) => {
        // The command's output may be a token: never quoted in the error.
        if (error) {
          reject(new EphemeraConfigError(`broker.auth.tokenCommand: '${file}' failed (${error.code ?? "error"})`));
          return;
        }
        const token = stdout.trim();
        if (!/^[\x21-\x7e]+$/.test(token)) {
          reject(new EphemeraConfigError(`broker.auth.tokenCommand: '${file}' printed no token`));
          return;
        }
        resolve(token);
      },
    );
  });
}
