// The stored CLI session: written 0600 in a 0700 folder, keyed by broker URL, and refused when expired, readable by
// others, or not what `ephemera login` wrote.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CliError, EXIT } from "./exit-codes.js";
import { removeSession, saveSession, sessionFilePath, storedSession } from "./session-file.js";
import { run } from "./testing/run-cli.js";

const NOW = Date.UTC(2026, 5, 1, 12);
const session = (over: Record<string, string> = {}) => ({
  token: "eps_0123456789abcdefABCDEF",
  expiresAt: new Date(NOW + 3_600_000).toISOString(),
  identity: "dana@example.test",
  issuer: "https://idp.example",
  ...over,
});

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-session-file-"));
  path = join(dir, "config", "ephemera", "session.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function refusal(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("the CLI session file", () => {
  it("lives under XDG_CONFIG_HOME, else ~/.config, unless EPHEMERA_SESSION_FILE or the flag names another", () => {
    expect(sessionFilePath({ XDG_CONFIG_HOME: "/x", HOME: "/h" })).toBe(join("/x", "ephemera", "session.json"));
    expect(sessionFilePath({ HOME: "/h" })).toBe(join("/h", ".config", "ephemera", "session.json"));
    expect(sessionFilePath({ HOME: "/h", EPHEMERA_SESSION_FILE: "/e.json" })).toBe("/e.json");
    expect(sessionFilePath({ EPHEMERA_SESSION_FILE: "/e.json" }, "/flag.json")).toBe("/flag.json");
  });

  it("is written with mode 0600 in a 0700 folder, one session per broker URL", () => {
    saveSession(path, "http://127.0.0.1:9/", session());
    saveSession(path, "https://broker.example", session({ identity: "other@example.test" }));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(storedSession(path, "http://127.0.0.1:9", NOW)?.identity).toBe("dana@example.test");
    expect(storedSession(path, "https://broker.example/", NOW)?.identity).toBe("other@example.test");
    expect(storedSession(path, "http://127.0.0.1:10", NOW)).toBeNull();
    const stored = JSON.parse(readFileSync(path, "utf8")) as { sessions: Record<string, object> };
    expect(Object.keys(stored.sessions).sort()).toEqual(["http://127.0.0.1:9", "https://broker.example"]);
  });

  it("writes through neither a file nor a link left at its temporary name", () => {
    const target = join(dir, "target.json");
    writeFileSync(target, "untouched");
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(target, `${path}.${process.pid}.tmp`);
    saveSession(path, "http://127.0.0.1:9", session());
    expect(readFileSync(target, "utf8")).toBe("untouched");
    expect(lstatSync(path).isFile()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(storedSession(path, "http://127.0.0.1:9", NOW)?.identity).toBe("dana@example.test");
  });

  it("answers null when there is no file", () => {
    expect(storedSession(path, "http://127.0.0.1:9", NOW)).toBeNull();
  });

  it("refuses an expired session, saying to log in again", () => {
    saveSession(path, "http://127.0.0.1:9", session({ expiresAt: new Date(NOW - 1).toISOString() }));
    const error = refusal(() => storedSession(path, "http://127.0.0.1:9", NOW));
    expect(error.exitCode).toBe(EXIT.forbidden);
    expect(error.message).toMatch(/expired at .*run ephemera login again/);
    expect(error.message).not.toContain(session().token);
  });

  it("refuses a file others may read, without using or printing the session", () => {
    saveSession(path, "http://127.0.0.1:9", session());
    chmodSync(path, 0o644);
    const error = refusal(() => storedSession(path, "http://127.0.0.1:9", NOW));
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toMatch(/mode 644, readable by others.*run ephemera login again/);
    expect(error.message).not.toContain(session().token);
  });

  it("ephemera login refuses such a file before signing in, so no broker session is opened for nothing", async () => {
    saveSession(path, "http://127.0.0.1:9", session());
    chmodSync(path, 0o640);
    // Port 1 answers nothing: had the login gone on to the broker, it would fail as unreachable (5), not as usage.
    const result = await run(["login", "--url", "http://127.0.0.1:1"], { EPHEMERA_SESSION_FILE: path });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(/mode 640, readable by others/);
    expect(result.stdout).toBe("");
  });

  it("refuses a symbolic link in place of the file", () => {
    const real = join(dir, "elsewhere.json");
    saveSession(real, "http://127.0.0.1:9", session());
    saveSession(path, "http://127.0.0.1:10", session());
    rmSync(path);
    symlinkSync(real, path);
    expect(refusal(() => storedSession(path, "http://127.0.0.1:9", NOW)).message).toMatch(/not a regular file/);
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["another shape", JSON.stringify({ version: 1, sessions: [] }), /has no sessions/],
    ["a token with other characters", null, /has no valid token/],
    ["a bad expiry", JSON.stringify({ version: 1, sessions: { x: { ...session(), expiresAt: "soon" } } }), /expiresAt/],
  ])("refuses a tampered file: %s", (_what, content, message) => {
    saveSession(path, "http://127.0.0.1:9", session());
    const text =
      content ??
      JSON.stringify({ version: 1, sessions: { "http://127.0.0.1:9": { ...session(), token: "eps_x\nInjected: 1" } } });
    writeFileSync(path, text, { mode: 0o600 });
    const error = refusal(() => storedSession(path, "http://127.0.0.1:9", NOW));
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/run ephemera login again/);
  });

  it("forgets one broker's session and keeps the others; the file goes with the last", () => {
    saveSession(path, "http://127.0.0.1:9", session());
    saveSession(path, "http://127.0.0.1:10", session());
    expect(removeSession(path, "http://127.0.0.1:9/")?.token).toBe(session().token);
    expect(storedSession(path, "http://127.0.0.1:9", NOW)).toBeNull();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(removeSession(path, "http://127.0.0.1:9")).toBeNull();
    removeSession(path, "http://127.0.0.1:10");
    expect(() => statSync(path)).toThrow(/ENOENT/);
  });
});
