// Builds the web console into dist/console; the broker serves it at /ui (src/http/console/static.ts).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    // No inline script anywhere: the CSP forbids it.
    modulePreload: false,
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
  },
});
