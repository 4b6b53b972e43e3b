// The Node.js versions package.json declares are the ones every installed package supports: `npm install` on the
// oldest declared version prints no engine warning, and the running Node (each CI leg) is inside the range too.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const semver = createRequire(import.meta.url)("semver") as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

const root = new URL("..", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8")) as {
  packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
};

describe("declared engines", () => {
  it("every package in the lockfile supports the oldest Node.js the project declares", () => {
    const oldest = semver.minVersion(pkg.engines.node)?.version;
    expect(oldest).toBeDefined();
    const refusing: string[] = [];
    for (const [name, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (name === "" || range === undefined || entry.optional) continue;
      if (!semver.satisfies(oldest ?? "0.0.0", range)) refusing.push(`${name} wants node ${range}`);
    }
    expect(refusing).toEqual([]);
  });

  it("the running Node.js is one the project declares", () => {
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  });
});
