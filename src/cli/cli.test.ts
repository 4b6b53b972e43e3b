// The ephemera command against a local imitation of the API: output, --json, problem printing and exit codes.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ADMIN_KEY,
  type FakeBroker,
  GOOD_KEY,
  type ImitationState,
  imitateApi,
  startFakeBroker,
} from "../client/testing/fake-broker.js";
import { EXIT } from "./exit-codes.js";
import { run } from "./testing/run-cli.js";

let broker: FakeBroker;
let state: ImitationState;
let env: Record<string, string>;

beforeEach(async () => {
  const api = imitateApi();
  state = api.state;
  broker = await startFakeBroker(api.handler);
  env = { EPHEMERA_URL: broker.url, EPHEMERA_TOKEN: GOOD_KEY };
});
afterEach(async () => {
  await broker.close();
});

describe("ephemera request", () => {
  it("prints the grant, its expiry and the credential fields as KEY=value lines", async () => {
    const result = await run(["request", "demo-api/read", "--duration", "5m", "--justification", "fix"], env);
    expect(result).toMatchObject({ code: EXIT.ok, stderr: "" });
    expect(result.stdout).toBe(
      [
        "# grant grant1 (demo-api/read) expires 2030-01-01T00:05:00.000Z",
        "# end it when done: ephemera complete grant1",
        "token=tok-grant1",
        "tokenType=Bearer",
        "expiresAt=2030-01-01T00:05:00.000Z",
        "",
      ].join("\n"),
    );
    expect(JSON.parse(broker.requests[0]!.body)).toEqual({
      entitlement: "demo-api/read",
      duration: "5m",
      justification: "fix",
    });
  });

  it("prints the whole 201 body with --json and sends numeric durations as seconds", async () => {
    const result = await run(["request", "demo-api/read", "--duration", "300", "--json"], env);
    expect(result.code).toBe(EXIT.ok);
    const body = JSON.parse(result.stdout) as { grant: { id: string }; credential: { env: Record<string, string> } };
    expect(body.grant.id).toBe("grant1");
    expect(body.credential.env.EPHEMERA_ACCESS_TOKEN).toBe("tok-grant1");
    expect(JSON.parse(broker.requests[0]!.body)).toMatchObject({ duration: 300 });
  });

  it("exits 3 on denial and prints the problem and the request id", async () => {
    const result = await run(["request", "demo-api/write"], env);
    expect(result).toEqual({
      code: EXIT.forbidden,
      stdout: "",
      stderr: "error: no rule allows demo-api/write (denied)\nrequest: req1\n",
    });
  });

  it("exits 3 when the key is not recognised, without printing it", async () => {
    const result = await run(["request", "demo-api/read"], { ...env, EPHEMERA_TOKEN: "ephk_wrong" });
    expect(result.code).toBe(EXIT.forbidden);
    expect(result.stderr).toBe("error: the API key is not recognised (unauthenticated)\n");
  });

  it("lets --url and --token after the command override the environment", async () => {
    const result = await run(["grants", "--url", broker.url, "--token", GOOD_KEY], {
      EPHEMERA_URL: "http://127.0.0.1:1",
      EPHEMERA_TOKEN: "ephk_wrong",
    });
    expect(result.code).toBe(EXIT.ok);
    const before = await run(["--url", broker.url, "--token", GOOD_KEY, "grants"], {});
    expect(before.code).toBe(EXIT.ok);
  });
});

describe("ephemera grants / grant / renew / complete / revoke", () => {
  it("lists grants as a table or JSON, filtered by state", async () => {
    await run(["request", "demo-api/read"], env);
    await run(["request", "demo-api/read"], env);
    await run(["complete", "grant2"], env);
    const table = await run(["grants", "--state", "active"], env);
    expect(table.code).toBe(EXIT.ok);
    expect(table.stdout).toBe(
      "ID      ENTITLEMENT    STATE   EXPIRES\ngrant1  demo-api/read  active  2030-01-01T00:05:00.000Z\n",
    );
    const json = await run(["grants", "--json", "--state", "active,verified", "--limit", "10"], env);
    expect((JSON.parse(json.stdout) as { grants: unknown[] }).grants).toHaveLength(2);
    expect(broker.requests.at(-1)?.url).toBe("/v1/grants?state=active%2Cverified&limit=10");
  });

  it("rejects a bad --limit as a usage error", async () => {
    const result = await run(["grants", "--limit", "0"], env);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("must be a whole number from 1 to 500");
  });

  it("shows one grant, and exits 4 when there is none", async () => {
    await run(["request", "demo-api/read"], env);
    const shown = await run(["grant", "grant1"], env);
    expect(shown.code).toBe(EXIT.ok);
    expect(shown.stdout).toContain("state:       active");
    expect(JSON.parse((await run(["grant", "grant1", "--json"], env)).stdout)).toMatchObject({ id: "grant1" });
    const missing = await run(["grant", "nope"], env);
    expect(missing).toMatchObject({ code: EXIT.notFound, stderr: "error: no grant 'nope' (not_found)\n" });
  });

  it("completes and revokes, reporting verified removal; a second end exits 7", async () => {
    await run(["request", "demo-api/read"], env);
    await run(["request", "demo-api/read"], env);
    const completed = await run(["complete", "grant1"], env);
    expect(completed).toMatchObject({
      code: EXIT.ok,
      stdout: "grant grant1 completed; removal verified at 2030-01-01T00:00:01.000Z\n",
    });
    const revoked = await run(["revoke", "grant2", "--reason", "incident", "--json"], env);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: "grant2", endReason: "revoked", removed: true });
    expect(broker.requests.at(-1)?.body).toBe('{"reason":"incident"}');
    const again = await run(["complete", "grant1"], env);
    expect(again).toMatchObject({
      code: EXIT.conflict,
      stderr: "error: grant 'grant1' is verified, not active (invalid_state)\n",
    });
  });

  it("renews", async () => {
    await run(["request", "demo-api/read"], env);
    const renewed = await run(["renew", "grant1", "--duration", "10m"], env);
    expect(renewed.stdout).toBe(
      "# grant grant1 now expires 2030-01-01T00:05:00.000Z (capped at the grant's maximum)\n",
    );
    expect(JSON.parse((await run(["renew", "grant1", "--json"], env)).stdout)).toMatchObject({ capped: true });
  });
});

describe("ephemera audit", () => {
  it("verifies with the admin key: OK exits 0, a broken chain exits 6", async () => {
    const adminEnv = { ...env, EPHEMERA_ADMIN_TOKEN: ADMIN_KEY };
    expect(await run(["audit", "verify"], adminEnv)).toEqual({
      code: EXIT.ok,
      stdout: "OK: audit chain intact (3 events)\n",
      stderr: "",
    });
    state.verification = {
      ok: false,
      count: 3,
      firstBadSeq: 4,
      problem: "hash_mismatch",
      detail: "event 4 was edited",
    };
    const broken = await run(["audit", "verify"], adminEnv);
    expect(broken.code).toBe(EXIT.auditBroken);
    expect(broken.stdout).toBe("BROKEN at event 4: hash_mismatch: event 4 was edited (3 events before it verified)\n");
    const json = await run(["audit", "verify", "--json"], adminEnv);
    expect(json.code).toBe(EXIT.auditBroken);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false });
  });

  it("exits 3 for a caller that is not an admin", async () => {
    const result = await run(["audit", "verify"], env);
    expect(result).toMatchObject({ code: EXIT.forbidden, stderr: "error: the audit log is for admins (forbidden)\n" });
  });

  it("lists events", async () => {
    const result = await run(["audit", "list", "--after", "0", "--limit", "5"], { ...env, EPHEMERA_TOKEN: ADMIN_KEY });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain("broker.started");
    expect(broker.requests.at(-1)?.url).toBe("/v1/audit?after=0&limit=5");
  });
});

describe("errors and usage", () => {
  it("exits 5 when the broker cannot be reached", async () => {
    const closed = await startFakeBroker(() => ({ status: 200 }));
    await closed.close();
    const result = await run(["grants"], { EPHEMERA_URL: closed.url, EPHEMERA_TOKEN: GOOD_KEY });
    expect(result).toEqual({
      code: EXIT.unreachable,
      stdout: "",
      stderr: `error: cannot reach the broker at ${closed.url} (ECONNREFUSED)\n`,
    });
  });

  it("exits 2 without a key or a stored session, naming the variable and ephemera login", async () => {
    const none = join(tmpdir(), "ephemera-no-such-dir", "session.json");
    const result = await run(["grants"], { EPHEMERA_URL: broker.url, EPHEMERA_SESSION_FILE: none });
    expect(result).toMatchObject({
      code: EXIT.usage,
      stderr: "error: no API key and no session: set EPHEMERA_TOKEN, pass --token, or run ephemera login\n",
    });
  });

  it("exits 2 on an unknown option or command, 0 on --help and --version", async () => {
    expect((await run(["grants", "--bogus"], env)).code).toBe(EXIT.usage);
    expect((await run(["frobnicate"], env)).code).toBe(EXIT.usage);
    expect((await run([], env)).code).toBe(EXIT.usage);
    const help = await run(["--help"], env);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain("exec [options] <command> [args...]");
    expect((await run(["--version"], env)).stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("ephemera keygen", () => {
  it("prints a key once and the config snippet with its hash", async () => {
    const result = await run(["keygen", "--identity", "ci-deploy"], {});
    expect(result.code).toBe(EXIT.ok);
    const key = /^(ephk_[0-9a-z]+_[A-Za-z0-9_-]{43})$/m.exec(result.stdout)?.[1];
    expect(key).toBeDefined();
    const hash = `sha256:${createHash("sha256").update(key!).digest("hex")}`;
    const keyId = key!.split("_")[1];
    expect(result.stdout).toContain(
      `identities:\n  ci-deploy:\n    apiKeys:\n      - { id: ${keyId}, hash: "${hash}" }\n`,
    );
    expect(result.stdout.split(key!)).toHaveLength(2);
  });

  it("prints JSON and refuses an identity id the config would not accept", async () => {
    const json = JSON.parse((await run(["keygen", "--identity", "bot", "--json"], {})).stdout) as Record<
      string,
      string
    >;
    expect(Object.keys(json)).toEqual(["identity", "key", "keyId", "hash"]);
    expect((await run(["keygen", "--identity", "Bad Id"], {})).code).toBe(EXIT.usage);
    expect((await run(["keygen"], {})).code).toBe(EXIT.usage);
  });
});

describe("ephemera server", () => {
  it("exits 2 with the config error's message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ephemera-cli-"));
    try {
      const file = join(dir, "bad.yaml");
      writeFileSync(file, "server: { listen: nowhere }\nbogus: 1\n");
      const result = await run(["server", "--config", file], {});
      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).toContain(`invalid configuration in ${file}`);
      expect(result.stderr).toContain("unknown option 'bogus'");
      const missing = await run(["server"], { EPHEMERA_CONFIG: join(dir, "none.yaml") });
      expect(missing.code).toBe(EXIT.usage);
      expect(missing.stderr).toContain("cannot read the file: ENOENT");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
