// What the broker tells policy about who drives a call: the CLI's own header, a browser, or an HTTP tool a person types
// into; automation libraries stay plain `api`.
import { describe, expect, it } from "vitest";
import { clientSignal } from "./client-signal.js";

describe("client signal", () => {
  it.each([
    [{ "x-ephemera-client": "cli; interactive" }, { kind: "cli", interactive: true }],
    [{ "x-ephemera-client": "cli" }, { kind: "cli", interactive: false }],
    [
      { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36" },
      { kind: "browser", interactive: true },
    ],
    [{ "user-agent": "curl/8.5.0" }, { kind: "tool", interactive: false }],
    [{ "user-agent": "HTTPie/3.2.2" }, { kind: "tool", interactive: false }],
    [{ "user-agent": "PostmanRuntime/7.39.0" }, { kind: "tool", interactive: false }],
    [{ "user-agent": "Wget/1.21.4" }, { kind: "tool", interactive: false }],
    [
      { "user-agent": "Mozilla/5.0 (Windows NT; Windows NT 10.0) WindowsPowerShell/5.1" },
      { kind: "browser", interactive: true },
    ],
    [{ "user-agent": "python-requests/2.32.3" }, { kind: "api", interactive: false }],
    [{ "user-agent": "Go-http-client/1.1" }, { kind: "api", interactive: false }],
    [{ "user-agent": "node" }, { kind: "api", interactive: false }],
    [{}, { kind: "api", interactive: false }],
    [{ "x-ephemera-client": "mcp" }, { kind: "mcp", interactive: false }],
    [
      {
        "x-ephemera-client": "mcp",
        "x-ephemera-client-name": "claude-code",
        "x-ephemera-client-version": "2.1.0",
        "x-ephemera-tool-call": "7",
        "x-ephemera-reveal": "true",
      },
      { kind: "mcp", interactive: false, name: "claude-code", version: "2.1.0", toolCallId: "7", reveal: true },
    ],
    // Details only come with the mcp kind; reveal is only ever the literal "true".
    [
      { "x-ephemera-client-name": "claude-code", "x-ephemera-reveal": "true" },
      { kind: "api", interactive: false },
    ],
    [
      { "x-ephemera-client": "mcp", "x-ephemera-reveal": "yes" },
      { kind: "mcp", interactive: false },
    ],
  ])("%j → %j", (headers, expected) => {
    expect(clientSignal(headers)).toStrictEqual(expected);
  });

  it("keeps a declared name printable and bounded", () => {
    const signal = clientSignal({ "x-ephemera-client": "mcp", "x-ephemera-client-name": `a\u0007b${"x".repeat(500)}` });
    expect(signal.name).toBe(`ab${"x".repeat(126)}`);
  });
});
