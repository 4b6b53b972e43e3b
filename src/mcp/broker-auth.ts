// The agent's own workload identity towards the broker: a fresh token for every call (files are re-read, commands
// re-run), so rotated platform tokens work and a single-use workload token is never presented twice.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { EphemeraClient, EphemeraConfigError } from "../client/index.js";
import type { BrokerAuth } from "./config.js";

const COMMAND_TIMEOUT_MS = 10_000;
const TOKEN_MAX_BYTES = 64 * 1024;

/** What the MCP client says of itself at initialisation, carried to the broker for policy and audit. */
export interface ClientInfo {
  readonly name: string;
  readonly version: string;
}

export class BrokerAccess {
  readonly url: string;
  readonly #auth: BrokerAuth;
  #apiKey: string | null = null;

  constructor(url: string, auth: BrokerAuth) {
    this.url = url;
    this.#auth = auth;
  }

  /** Reads the API key file once at start, so a missing key stops the server before any client connects. */
  async check(): Promise<void> {
    await this.#token();
  }

  /** A client for one call, with the current token and the MCP client's name and version. */
  async client(info: ClientInfo | null): Promise<EphemeraClient> {
    return new EphemeraClient({
      url: this.url,
      token: await this.#token(),
      clientKind: "mcp",
      ...(info ? { clientInfo: info } : {}),
    });
  }

  async #token(): Promise<string> {
    const auth = this.#auth;
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
    }
  }
}

async function readToken(path: string, key: string): Promise<string> {
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
