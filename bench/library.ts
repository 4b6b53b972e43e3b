// The broker library loaded from its build output (dist/, the code the CLI runs), typed from its sources.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root: the nearest directory above this file holding bin/ephemera.js (runs from build/bench/bench/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "bin", "ephemera.js"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find bin/ephemera.js above the bench");
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = repoRoot();
export const CLI = join(REPO_ROOT, "bin", "ephemera.js");

export type Ephemera = typeof import("../src/index.js");

const entry = join(REPO_ROOT, "dist", "index.js");
if (!existsSync(entry)) throw new Error("dist/ is missing: run `npm run build` (npm run bench does)");
/** `startBroker`, `buildConfig`, `generateApiKey`… as built into dist/. */
export const ephemera: Ephemera = await import(pathToFileURL(entry).href);
