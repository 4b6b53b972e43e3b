// `ephemera login` and `logout`: a person signs in with the company's identity provider (device grant, RFC 8628), the
// broker turns the ID token into a short-lived session, and later commands use it when no API key is given.
import { execFile } from "node:child_process";
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { brokerUrlOf, optionOf, withConnection } from "../context.js";
import { realWait, runDeviceGrant } from "../device-grant.js";
import { CliError, EXIT, exitCodeForStatus } from "../exit-codes.js";
import { runLoopbackSignIn } from "../loopback-sign-in.js";
import {
  brokerKey,
  checkSessionFile,
  removeSession,
  type StoredSession,
  saveSession,
  sessionFilePath,
} from "../session-file.js";

/** What the broker says a command line needs for the device grant (`GET /v1/sessions/methods`, unauthenticated). */
interface SignInInfo {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

const TIMEOUT_MS = 10_000;

/** Best effort: the page is printed anyway. No shell: the URL is one argument to the platform's opener. */
function openBrowser(url: string): void {
  const opener = process.platform === "darwin" ? "open" : process.platform === "linux" ? "xdg-open" : null;
  if (opener === null) return;
  try {
    execFile(opener, [url], { timeout: 10_000 }, () => {}).unref();
  } catch {
    // no opener installed: the person opens the printed page
  }
}

async function brokerJson(
  url: string,
  init: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      ...init,
      headers: { accept: "application/json, application/problem+json", ...(init.headers as Record<string, string>) },
      redirect: "error",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw new CliError(
      `the broker at ${new URL(url).origin} could not be reached (${(error as Error).message})`,
      EXIT.unreachable,
    );
  }
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // a proxy's error page: reported by status below
  }
  return {
    status: response.status,
    body: typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null,
  };
}

/** The problem's detail and code, for a message; the broker's problems never carry a secret. */
function problemText(status: number, body: Record<string, unknown> | null): string {
  const detail = typeof body?.detail === "string" ? body.detail : `status ${status}`;
  return typeof body?.code === "string" ? `${detail} (${body.code})` : detail;
}

async function signInInfo(broker: string, flags: { issuer?: string; clientId?: string }): Promise<SignInInfo> {
  const fallbackScopes = ["openid", "email", "profile"];
  if (flags.issuer && flags.clientId) return { issuer: flags.issuer, clientId: flags.clientId, scopes: fallbackScopes };
  const { status, body } = await brokerJson(`${broker}/v1/sessions/methods`, { method: "GET" });
  if (status !== 200) {
    throw new CliError(
      `the broker did not say how to sign in: ${problemText(status, body)}`,
      exitCodeForStatus(status),
    );
  }
  const cli = body?.cli as { issuer?: unknown; clientId?: unknown; scopes?: unknown } | null | undefined;
  if (!cli && !(flags.issuer && flags.clientId)) {
    throw new CliError(
      `the broker at ${broker} takes no command-line sign-in with an identity provider (console.signIn.oidc.cliClientId is not set); use an API key`,
      EXIT.usage,
    );
  }
  const issuer = flags.issuer ?? cli?.issuer;
  const clientId = flags.clientId ?? cli?.clientId;
  if (typeof issuer !== "string" || typeof clientId !== "string") {
    throw new CliError("the broker's sign-in methods name no issuer or client id for the command line", EXIT.error);
  }
  const scopes = cli?.scopes;
  const listed = Array.isArray(scopes) && scopes.every((x) => typeof x === "string") ? (scopes as string[]) : null;
  return { issuer, clientId, scopes: listed ?? fallbackScopes };
}

export function registerLogin(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("login")
      .description(
        "sign in as a person with the broker's identity provider (device code); later commands use the session",
      )
      .option("--issuer <url>", "the identity provider (default: what the broker names)")
      .option("--client-id <id>", "the provider's client for the command line (default: what the broker names)")
      .option(
        "--browser",
        "sign in in a browser on this machine instead (authorization code + PKCE, redirect to 127.0.0.1)",
      ),
  ).action(async (options: { issuer?: string; clientId?: string; browser?: boolean }, command: Command) => {
    const broker = brokerKey(brokerUrlOf(cli, command));
    const path = sessionFilePath(cli.io.env, optionOf(command, "sessionFile"));
    // A file that would be refused after the sign-in would leave a session open at the broker that no one holds.
    checkSessionFile(path);
    const info = await signInInfo(broker, options);
    const provider = {
      issuer: info.issuer,
      clientId: info.clientId,
      scope: info.scopes.join(" "),
      fetch: (input: string, init: RequestInit) => fetch(input, init),
    };
    const idToken = options.browser
      ? await runLoopbackSignIn({
          ...provider,
          prompt: (url) => {
            cli.print(`To sign in to ${broker}, open this page in a browser on this machine:\n${url}`);
            if (cli.io.interactive) openBrowser(url);
            cli.print("(waiting for the browser to come back…)");
          },
        })
      : await runDeviceGrant({
          ...provider,
          now: () => Date.now(),
          wait: realWait,
          prompt: (p) => {
            cli.print(`To sign in to ${broker}, open ${p.verificationUri} and enter the code ${p.userCode}`);
            if (p.verificationUriComplete) cli.print(`or open ${p.verificationUriComplete}`);
            cli.print(`(the code expires in ${Math.round(p.expiresInSeconds / 60)} min; waiting for your approval…)`);
          },
        });
    const { status, body } = await brokerJson(`${broker}/v1/sessions/oidc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ idToken }),
    });
    if (status !== 201 && status !== 200) {
      throw new CliError(`the broker refused the sign-in: ${problemText(status, body)}`, exitCodeForStatus(status));
    }
    const identity = (body?.identity as { id?: unknown } | undefined)?.id;
    const session: StoredSession = {
      token: typeof body?.token === "string" ? body.token : "",
      expiresAt: typeof body?.expiresAt === "string" ? body.expiresAt : "",
      identity: typeof identity === "string" ? identity : "",
      issuer: info.issuer,
    };
    saveSession(path, broker, session);
    cli.print(
      `Signed in to ${broker} as ${session.identity} until ${session.expiresAt}; the session is kept in ${path}`,
    );
  });

  withConnection(
    program.command("logout").description("end the session `ephemera login` opened on this broker and forget it"),
  ).action(async (_options: unknown, command: Command) => {
    const broker = brokerKey(brokerUrlOf(cli, command));
    const path = sessionFilePath(cli.io.env, optionOf(command, "sessionFile"));
    const removed = removeSession(path, broker);
    if (!removed) {
      cli.print(`No session on ${broker} was stored in ${path}.`);
      return;
    }
    // Forgotten locally first, so a broker that cannot be reached never leaves a session behind on this machine.
    const { status, body } = await brokerJson(`${broker}/v1/sessions`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${removed.token}` },
    });
    if (status === 204 || status === 200 || status === 401) {
      cli.print(`Signed out of ${broker} (${removed.identity}).`);
      return;
    }
    cli.warn(`Forgot the session on ${broker}, but the broker did not end it: ${problemText(status, body)}`);
    cli.warn(`It ends by itself at ${removed.expiresAt}.`);
    cli.exitCode = EXIT.error;
  });
}
