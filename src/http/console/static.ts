// Serves the built web console (dist/console, made by `npm run build`) at /ui with a strict Content-Security-Policy.
// Only the files found there at start are served, by exact path: no directory walking, nothing from elsewhere.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { EphemeraError } from "../../support/index.js";
import type { App } from "../app.js";
import { sendProblem } from "../problem.js";

/** The package root: this file is src/http/console/static.ts or dist/http/console/static.js. */
const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const CONSOLE_DIR = join(PACKAGE_ROOT, "dist", "console");

/** No inline script or style, nothing from another origin, never framed. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** Vite names built assets by content hash: they may be cached for good; index.html may not. */
  readonly immutable: boolean;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const type = TYPES[extname(name)];
        if (!type) continue;
        const key = relative(dir, path).split(sep).join("/");
        assets.set(key, { body: readFileSync(path), type, immutable: key.startsWith("assets/") });
      }
    }
  };
  walk(dir);
  return assets;
}

export function registerConsole(app: App, dir: string = CONSOLE_DIR): void {
  const assets = loadAssets(dir);

  app.addHook("onSend", async (request, reply, payload) => {
    if (request.url === "/ui" || request.url.startsWith("/ui/")) {
      reply.header("content-security-policy", CONSOLE_CSP);
      reply.header("x-content-type-options", "nosniff");
      reply.header("x-frame-options", "DENY");
      reply.header("referrer-policy", "no-referrer");
      reply.header("cross-origin-opener-policy", "same-origin");
    }
    return payload;
  });

  app.get("/ui", { schema: { hide: true } }, async (_request, reply) => reply.redirect("/ui/", 302));
  app.get<{ Params: { "*": string } }>("/ui/*", { schema: { hide: true } }, async (request, reply) => {
    const path = request.params["*"] || "index.html";
    const asset = assets.get(path);
    if (!asset) {
      const message =
        assets.size === 0
          ? "the console is not built: run `npm run build` and restart the broker"
          : `no console file ${path}`;
      return sendProblem(reply, new EphemeraError("not_found", message));
    }
    reply
      .type(asset.type)
      .header("cache-control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    return reply.send(asset.body);
  });
}
