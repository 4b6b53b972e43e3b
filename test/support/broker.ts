// Starts a real broker for tests: temp data directory, token target, three identities with fresh API keys.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig } from "../../src/config/load.js";
import { generateApiKey } from "../../src/identity/api-keys.js";
import { type Broker, type StartOptions, startBroker } from "../../src/main.js";
import { silentLogger } from "../../src/support/logger.js";

export interface TestBroker {
  readonly broker: Broker;
  readonly dataDir: string;
  readonly keys: { readonly ci: string; readonly other: string; readonly admin: string };
  close(): Promise<void>;
}

export function testConfigDocument(
  dataDir: string,
  keys: Record<"ci" | "other" | "admin", ReturnType<typeof generateApiKey>>,
) {
  const keyOf = (k: ReturnType<typeof generateApiKey>) => [{ id: k.keyId, hash: k.hash }];
  return {
    dataDir,
    server: { listen: "127.0.0.1:0", publicUrl: "http://127.0.0.1:8720" },
    logging: { level: "silent" },
    identities: {
      "ci-deploy": { kind: "pipeline", owner: "team-payments", groups: ["ci"], apiKeys: keyOf(keys.ci) },
      "other-job": { kind: "workload", owner: "team-other", groups: ["ci"], apiKeys: keyOf(keys.other) },
      alice: { kind: "human", owner: "security", admin: true, apiKeys: keyOf(keys.admin) },
    },
    targets: {
      "demo-api": {
        type: "token",
        audience: "https://demo-api.test",
        entitlements: {
          read: { scopes: ["demo.read"], defaultDuration: "5m", maxDuration: "1h" },
          write: { scopes: ["demo.read", "demo.write"], defaultDuration: "5m", maxDuration: "15m" },
        },
      },
    },
    access: [{ groups: ["ci"], entitlements: ["demo-api/read", "demo-api/write"] }],
  };
}

export async function startTestBroker(options: StartOptions & { dataDir?: string } = {}): Promise<TestBroker> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "ephemera-test-"));
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  const config = buildConfig(testConfigDocument(dataDir, keys), "test");
  const broker = await startBroker(config, { logger: silentLogger(), listen: false, ...options });
  return {
    broker,
    dataDir,
    keys: { ci: keys.ci.key, other: keys.other.key, admin: keys.admin.key },
    async close() {
      await broker.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One fresh API key per name: the keys to present, and each name's config entry (`apiKeys: configured(name)`). */
export function namedApiKeys<N extends string>(
  names: readonly N[],
): { keys: Record<N, string>; configured: (name: N) => { id: string; hash: string }[] } {
  const made = Object.fromEntries(names.map((n) => [n, generateApiKey()])) as Record<
    N,
    ReturnType<typeof generateApiKey>
  >;
  return {
    keys: Object.fromEntries(names.map((n) => [n, made[n].key])) as Record<N, string>,
    configured: (name) => [{ id: made[name].keyId, hash: made[name].hash }],
  };
}
