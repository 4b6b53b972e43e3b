// The config file is validated once at start; every problem is reported with the path that holds it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { buildConfig, ConfigError, loadConfigFile } from "./load.js";

const valid = () => ({
  identities: { "ci-deploy": { kind: "pipeline", owner: "team", groups: ["ci"] } },
  targets: {
    "demo-api": {
      type: "token",
      audience: "https://x",
      entitlements: { read: { scopes: ["a"], defaultDuration: "5m", maxDuration: "1h" } },
    },
  },
  access: [{ groups: ["ci"], entitlements: ["demo-api/read"] }],
});

function problems(doc: unknown): readonly string[] {
  try {
    buildConfig(doc, "test.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("configuration", () => {
  it("fills defaults and freezes the result", () => {
    const config = buildConfig(valid(), "t", {}, "/srv");
    expect(config.dataDir).toBe("/srv/data");
    expect(config.storage.sqlitePath).toBe("/srv/data/ephemera.db");
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: 8720, publicUrl: "http://127.0.0.1:8720" });
    expect(config.targets[0]?.entitlements[0]).toMatchObject({
      name: "demo-api/read",
      defaultDurationSeconds: 300,
      maxDurationSeconds: 3600,
      settings: { scopes: ["a"] },
    });
    expect(config.targets[0]?.settings).toEqual({ audience: "https://x" });
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it("selects a shared PostgreSQL store, with the password from the environment or a file, never inline", () => {
    const pg = (postgres: unknown, env: NodeJS.ProcessEnv = {}) =>
      buildConfig({ ...valid(), storage: { postgres } }, "t", env, "/srv").storage.postgres;
    expect(pg("postgres://broker@db:5432/ephemera")).toEqual({
      url: "postgres://broker@db:5432/ephemera",
      password: null,
      schema: "public",
      poolSize: 10,
    });
    expect(
      pg(
        { url: "postgres://broker@db/e", password: { env: "PGPW" }, schema: "ephemera", poolSize: 20 },
        { PGPW: "s3" },
      ),
    ).toEqual({ url: "postgres://broker@db/e", password: "s3", schema: "ephemera", poolSize: 20 });
    const dir = mkdtempSync(join(tmpdir(), "ephemera-config-"));
    try {
      writeFileSync(join(dir, "pw"), "from-file\n");
      expect(pg({ url: "postgres://b@db/e", password: { file: join(dir, "pw") } })?.password).toBe("from-file");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(buildConfig(valid(), "t").storage.postgres).toBeNull();
    expect(problems({ ...valid(), storage: { postgres: { url: "postgres://b@db/e", password: "inline" } } })).toEqual([
      "storage.postgres.password: must be { env: NAME } or { file: PATH }, never the password itself",
    ]);
    expect(
      problems({ ...valid(), storage: { postgres: { url: "postgres://b@db/e", password: { env: "NOPE" } } } }),
    ).toEqual(["storage.postgres.password: environment variable NOPE is not set"]);
    expect(problems({ ...valid(), storage: { sqlite: "x.db", postgres: "postgres://b@db/e" } })).toEqual([
      "storage: name one store, sqlite or postgres, not both",
    ]);
    expect(problems({ ...valid(), storage: { postgres: "mysql://db" } })).not.toEqual([]);
    expect(
      problems({ ...valid(), storage: { postgres: { url: "postgres://b@db/e", schema: "Bad-Name" } } }),
    ).not.toEqual([]);
  });

  it.each([
    [{ surprise: 1 }, "(top level): unknown option 'surprise'"],
    [{ server: { listen: "nowhere" } }, "server.listen: 'nowhere' must be host:port"],
    [{ identities: { "ci-deploy": { kind: "robot", owner: "x" } } }, "identities.ci-deploy.kind"],
    [{ identities: { "ci-deploy": { kind: "pipeline" } } }, "identities.ci-deploy.owner: required"],
    [
      {
        targets: {
          "demo-api": { type: "token", entitlements: { read: { defaultDuration: "5x", maxDuration: "1h" } } },
        },
      },
      "targets.demo-api.entitlements.read.defaultDuration: '5x' is not a duration",
    ],
    [
      {
        targets: {
          "demo-api": { type: "token", entitlements: { read: { defaultDuration: "2h", maxDuration: "1h" } } },
        },
      },
      "targets.demo-api.entitlements.read.defaultDuration: 7200s is above maxDuration",
    ],
    [
      { access: [{ groups: ["ci"], entitlements: ["demo-api/write"] }] },
      "access.0.entitlements: 'demo-api/write' names no configured entitlement",
    ],
    [{ access: [{ entitlements: ["demo-api/read"] }] }, "access.0: names neither identities nor groups"],
    [{ bootstrap: { envFile: "x", identity: "nobody" } }, "bootstrap.identity: 'nobody' is not a configured identity"],
  ])("reports %j as a problem at its path", (patch, expected) => {
    const found = problems({ ...valid(), ...patch });
    expect(found.join("\n")).toContain(expected);
  });

  it("takes the listen address from EPHEMERA_LISTEN over the file's server.listen", () => {
    const config = buildConfig({ ...valid(), server: { listen: "127.0.0.1:8720" } }, "t", {
      EPHEMERA_LISTEN: "127.0.0.1:9999",
    });
    expect([config.server.host, config.server.port, config.server.publicUrl]).toEqual([
      "127.0.0.1",
      9999,
      "http://127.0.0.1:9999",
    ]);
    expect(buildConfig(valid(), "t", { EPHEMERA_LISTEN: "" }).server.port).toBe(8720);
    expect(() => buildConfig(valid(), "t", { EPHEMERA_LISTEN: "nowhere" })).toThrow(
      "EPHEMERA_LISTEN: 'nowhere' must be host:port",
    );
  });

  it("names the file and refuses to start on unreadable or non-YAML files", () => {
    const dir = mkdtempSync(join(tmpdir(), "ephemera-config-"));
    try {
      expect(() => loadConfigFile(join(dir, "missing.yaml"))).toThrow(/cannot read the file: ENOENT/);
      writeFileSync(join(dir, "bad.yaml"), "targets: [unclosed");
      expect(() => loadConfigFile(join(dir, "bad.yaml"))).toThrow(/not valid YAML/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("resolves secret references in target settings from the environment or a file, and names a missing one", () => {
    const dir = mkdtempSync(join(tmpdir(), "ephemera-config-"));
    try {
      writeFileSync(join(dir, "pg.pass"), "from-a-file\n");
      const doc = valid();
      const target = {
        ...doc.targets["demo-api"],
        password: { env: "TEST_ADMIN_PASSWORD" },
        nested: { token: { file: "pg.pass" }, plain: "kept" },
      };
      const config = buildConfig(
        { ...doc, targets: { "demo-api": target } },
        "t",
        { TEST_ADMIN_PASSWORD: "from-env" },
        dir,
      );
      expect(config.targets[0]?.settings).toMatchObject({
        password: "from-env",
        nested: { token: "from-a-file", plain: "kept" },
      });
      const missing = problems({ ...doc, targets: { "demo-api": { ...target, nested: { token: { file: "nope" } } } } });
      expect(missing.join("\n")).toContain(
        "targets.demo-api.password: environment variable TEST_ADMIN_PASSWORD is not set",
      );
      expect(missing.join("\n")).toContain("targets.demo-api.nested.token: cannot read nope: ENOENT");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the reconciler interval and per-target admin rotation, refusing rotation more often than a minute", () => {
    expect(buildConfig(valid(), "t").reconcileIntervalMs).toBe(300_000);
    const doc = valid();
    const rotating = { ...doc.targets["demo-api"], adminRotation: "30d" };
    const config = buildConfig({ ...doc, reconciler: { interval: "1m" }, targets: { "demo-api": rotating } }, "t");
    expect(config.reconcileIntervalMs).toBe(60_000);
    expect(config.targets[0]?.adminRotationSeconds).toBe(30 * 86_400);
    expect(config.targets[0]?.settings).not.toHaveProperty("adminRotation");
    const tooOften = problems({ ...doc, targets: { "demo-api": { ...rotating, adminRotation: "10s" } } });
    expect(tooOften.join("\n")).toContain("targets.demo-api.adminRotation: must be at least 60s");
  });

  it("the demo's commented target examples, uncommented, are valid configuration and valid connector settings", async () => {
    const text = readFileSync(new URL("../../examples/demo.yaml", import.meta.url), "utf8");
    const uncommented = text
      .split("\n")
      .map((line) => {
        const m = /^ {2}# ?( *[A-Za-z0-9-]+:.*| *)$/.exec(line);
        return m && !line.includes("Real targets") ? `  ${m[1]}`.replace(/ +#.*$/, "") : line;
      })
      .join("\n");
    const env = Object.fromEntries(
      [...uncommented.matchAll(/env: ([A-Z_]+)/g)].map((m) => [m[1] ?? "", "not-a-real-secret"]),
    );
    const config = buildConfig(parseYaml(uncommented), "demo.yaml (uncommented)", env);
    expect(config.targets.map((t) => t.type).sort()).toEqual(
      ["http", "mariadb", "postgres", "postgres-elevation", "rabbitmq", "redis", "token", "x509"].sort(),
    );
    const { createConnector } = await import("../connectors/registry.js");
    const { connectorContext } = await import("../connectors/testing/target-fixture.js");
    for (const target of config.targets) {
      const connector = await createConnector(target, connectorContext());
      for (const entitlement of target.entitlements) connector.validateEntitlement(entitlement);
      await connector.close();
    }
  });

  it("checks authenticators and TLS with path-named errors: unknown type, mtls without a client CA, unreadable files", () => {
    const doc = valid();
    const rule = { match: { sub: "x" }, identity: "job", owner: "team" };
    expect(problems({ ...doc, authenticators: [{ type: "saml" }] }).join("\n")).toContain(
      "authenticators.0.type: must be one of oidc, spiffe-jwt, mtls",
    );
    const mtls = problems({ ...doc, authenticators: [{ type: "mtls", trustDomains: ["example.org"], rules: [rule] }] });
    expect(mtls.join("\n")).toContain("an mtls authenticator needs server.tls.clientCa");
    const tls = problems({ ...doc, server: { tls: { cert: "/nonexistent/c.pem", key: "/nonexistent/k.pem" } } });
    expect(tls.join("\n")).toContain("server.tls.cert: cannot read /nonexistent/c.pem: ENOENT");
    const twice = problems({
      ...doc,
      authenticators: [
        { type: "oidc", name: "ci", issuer: "https://a.example", audience: "x", rules: [rule] },
        { type: "oidc", name: "ci", issuer: "https://b.example", audience: "x", rules: [rule] },
      ],
    });
    expect(twice.join("\n")).toContain("authenticators.1.name: 'ci' names another authenticator too");
  });

  it("reads the deprecated admin: true as membership of group admins, and lets no trust rule put anyone there", () => {
    const doc = valid();
    const config = buildConfig(
      {
        ...doc,
        identities: {
          ...doc.identities,
          old: { kind: "human", admin: true, groups: ["sre"] },
          new: { kind: "human", groups: ["admins"] },
          plain: { kind: "human", groups: ["sre"] },
        },
      },
      "t",
    );
    expect(config.identities.get("old")).toMatchObject({ groups: ["sre", "admins"], admin: true, adminFlag: true });
    expect(config.identities.get("new")).toMatchObject({ groups: ["admins"], admin: true, adminFlag: false });
    expect(config.identities.get("plain")).toMatchObject({ groups: ["sre"], admin: false, adminFlag: false });
    const rule = { match: { sub: "x" }, identity: "job", owner: "team", groups: ["ci", "admins"] };
    const admitted = problems({
      ...doc,
      authenticators: [{ type: "oidc", name: "ci", issuer: "https://a.example", audience: "x", rules: [rule] }],
    });
    expect(admitted.join("\n")).toContain("rules.0.groups: a trust rule may not put an identity in 'admins'");
  });

  it("the demo config loads with its admin in group admins and no deprecated flag", () => {
    const demo = loadConfigFile("examples/demo.yaml", {}, process.cwd());
    expect(demo.identities.get("admin")).toMatchObject({ groups: ["admins"], admin: true, adminFlag: false });
    expect(demo.bootstrap?.admin).toBe("admin");
  });

  it("reads identityLifecycle: dormancy off by default, dormantAfter as a duration of at least an hour", () => {
    expect(buildConfig(valid(), "t").identityLifecycle).toStrictEqual({
      dormantAfterMs: null,
      checkIntervalMs: 3_600_000,
    });
    expect(
      buildConfig({ ...valid(), identityLifecycle: { dormantAfter: "30d", checkInterval: "15m" } }, "t")
        .identityLifecycle,
    ).toStrictEqual({ dormantAfterMs: 30 * 86_400_000, checkIntervalMs: 900_000 });
    expect(problems({ ...valid(), identityLifecycle: { dormantAfter: "10m" } })).toContain(
      "identityLifecycle.dormantAfter: must be at least 1h (identities are seen at most once a minute)",
    );
    expect(problems({ ...valid(), identityLifecycle: { dormantAfter: "soon" } })).toContain(
      "identityLifecycle.dormantAfter: 'soon' is not a duration (use 90s, 15m, 1h30m, 2d or whole seconds)",
    );
    expect(problems({ ...valid(), identityLifecycle: { dormant: "30d" } }).join("\n")).toMatch(/identityLifecycle/);
  });

  it("refuses plain http for webhook and audit.stream URLs, naming the path; http only to loopback when opted in", () => {
    const hook = (url: string, extra: Record<string, unknown> = {}) => ({
      ...valid(),
      notifications: { webhooks: [{ name: "ops", url, ...extra }] },
    });
    const stream = (url: string, extra: Record<string, unknown> = {}) => ({
      ...valid(),
      audit: { stream: { url, ...extra } },
    });
    const insecure = "must be https (http is allowed only to a loopback address, with allowInsecureLoopback: true)";
    expect(problems(hook("https://hooks.example/x"))).toEqual([]);
    expect(problems(hook("http://hooks.example/x"))).toEqual([`notifications.webhooks.0.url: ${insecure}`]);
    expect(problems(hook("http://127.0.0.1:9/x"))).toEqual([`notifications.webhooks.0.url: ${insecure}`]);
    expect(problems(stream("https://siem.example/in"))).toEqual([]);
    expect(problems(stream("http://siem.example/in"))).toEqual([`audit.stream.url: ${insecure}`]);
    expect(problems(stream("http://localhost:9/in"))).toEqual([`audit.stream.url: ${insecure}`]);
    // The opt-in is per URL, and only for loopback addresses: a test's local receiver, never a remote host.
    for (const url of ["http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/x"]) {
      expect(problems(hook(url, { allowInsecureLoopback: true })), url).toEqual([]);
      expect(problems(stream(url, { allowInsecureLoopback: true })), url).toEqual([]);
    }
    for (const url of ["http://hooks.example/x", "http://127.0.0.1.example/x", "http://10.0.0.1/x"]) {
      expect(problems(hook(url, { allowInsecureLoopback: true })), url).toEqual([
        `notifications.webhooks.0.url: ${insecure}`,
      ]);
      expect(problems(stream(url, { allowInsecureLoopback: true })), url).toEqual([`audit.stream.url: ${insecure}`]);
    }
    // The checkpoint webhook sink is a notifications webhook: its URL is checked there, under the same rule.
    expect(problems({ ...hook("http://hooks.example/cp"), audit: { checkpoints: { webhook: "ops" } } })).toEqual([
      `notifications.webhooks.0.url: ${insecure}`,
    ]);
  });

  it("loads the demo configuration shipped with the project", () => {
    const config = loadConfigFile(new URL("../../examples/demo.yaml", import.meta.url).pathname, {});
    expect(config.targets.map((t) => t.id)).toEqual(["demo-api"]);
    expect(config.bootstrap?.identity).toBe("demo-workload");
    expect(config.authenticators.map((a) => [a.type, a.name])).toEqual([["oidc", "dev-issuer"]]);
  });
});

describe("console.signIn", () => {
  const withSignIn = (signIn: Record<string, unknown>) => ({ ...valid(), console: { signIn } });
  const oidc = { issuer: "https://idp.example", clientId: "ephemera", clientSecret: { env: "IDP_SECRET" } };

  it("takes API keys without OIDC; with OIDC, API-key sign-in is off unless turned back on", () => {
    expect(buildConfig(valid(), "t").console.signIn).toStrictEqual({ apiKey: true, oidc: null });
    const env = { IDP_SECRET: "from-the-environment" };
    const config = buildConfig(withSignIn({ oidc }), "t", env);
    expect(config.console.signIn.apiKey).toBe(false);
    expect(config.console.signIn.oidc).toMatchObject({
      issuer: "https://idp.example",
      clientId: "ephemera",
      redirectUri: "http://127.0.0.1:8720/v1/sessions/oidc/callback",
      claims: { subject: "email", email: "email", groups: "groups" },
    });
    expect(config.console.signIn.oidc?.clientSecret.reveal()).toBe("from-the-environment");
    expect(JSON.stringify(config)).not.toContain("from-the-environment");
    expect(buildConfig(withSignIn({ oidc, apiKey: true }), "t", env).console.signIn.apiKey).toBe(true);
  });

  it("refuses an inline secret, a missing variable and plain http away from loopback, naming each path", () => {
    expect(problems(withSignIn({ oidc: { ...oidc, clientSecret: "inline" } }))).toStrictEqual([
      "console.signIn.oidc.clientSecret: must be { env: NAME } or { file: PATH } naming the console client's secret",
    ]);
    expect(problems(withSignIn({ oidc }))).toContain(
      "console.signIn.oidc.clientSecret: environment variable IDP_SECRET is not set",
    );
    expect(
      problems(
        withSignIn({ oidc: { ...oidc, issuer: "http://idp.example", postLogoutRedirectUri: "http://x.example/" } }),
      ),
    ).toEqual(
      expect.arrayContaining([
        "console.signIn.oidc.issuer: must use https://",
        "console.signIn.oidc.postLogoutRedirectUri: must use https://",
      ]),
    );
  });
});
