// Where the writer thread's script is: the compiled store-worker.js beside this file, or, when the store runs from
// its TypeScript sources (the tests run them without a build, and Node 20 cannot run TypeScript in a worker), one
// JavaScript bundle of store-worker.ts made from those sources once per process.
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

let fromSources: Promise<URL> | null = null;

export function writerScript(): Promise<URL> {
  if (!import.meta.url.endsWith(".ts")) return Promise.resolve(new URL("./store-worker.js", import.meta.url));
  fromSources ??= bundleSources();
  return fromSources;
}

/**
 * Bundles store-worker.ts and the project sources it imports; packages stay imports. The file goes under the
 * project's node_modules/.cache, so those imports resolve as they do for the sources; its name is its content's hash,
 * and it is written under a temporary name and renamed, so test processes starting together never see half a file.
 */
async function bundleSources(): Promise<URL> {
  const { rolldown } = await import("rolldown");
  const bundle = await rolldown({
    input: fileURLToPath(new URL("./store-worker.ts", import.meta.url)),
    platform: "node",
    external: (id) => !id.startsWith(".") && !id.startsWith("/"),
    resolve: { extensionAlias: { ".js": [".ts", ".js"] } },
    logLevel: "silent",
  });
  try {
    const { output } = await bundle.generate({ format: "esm" });
    const code = output[0].code;
    const dir = fileURLToPath(new URL("../../../node_modules/.cache/ephemera/", import.meta.url));
    mkdirSync(dir, { recursive: true });
    const file = `${dir}store-worker-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`;
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, code);
    renameSync(temp, file);
    return pathToFileURL(file);
  } finally {
    await bundle.close();
  }
}
