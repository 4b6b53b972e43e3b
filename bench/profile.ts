// Reads a V8 .cpuprofile (node --cpu-prof) and ranks functions and modules by self time.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Self time not spent idle (the `(idle)` node), ms. */
  readonly busyMs: number;
  readonly functions: readonly ProfileEntry[];
  readonly modules: readonly ProfileEntry[];
  /** The broker's own functions (dist/) by inclusive time: where the time goes, callees included. */
  readonly inclusive: readonly ProfileEntry[];
}

/** `node_modules/<pkg>`, `dist/<dir>`, `node:<internal>` or the special V8 frames, from a script url. */
function moduleOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === "") return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return `npm:${rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = url.indexOf("/dist/");
  if (dist >= 0) {
    const parts = url.slice(dist + 1).split("/");
    return parts.slice(0, Math.min(parts.length, 3)).join("/");
  }
  if (url.startsWith("node:")) return url.split("/")[0] ?? url;
  return url.replace(/^file:\/\/.*\//, "");
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + "/node_modules/".length);
  const dist = url.indexOf("/dist/");
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\/.*\//, "");
}

function nameOf(frame: CallFrame): string {
  const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "";
  return `${frame.functionName || "(anonymous)"} ${where}`.trim();
}

function rank(map: Map<string, number>, busyMs: number, top: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, selfMs]) => ({ name, selfMs, share: busyMs > 0 ? selfMs / busyMs : 0 }));
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const selfById = new Map<number, number>();
  let totalMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const id = profile.samples[i] ?? -1;
    selfById.set(id, (selfById.get(id) ?? 0) + ms);
    totalMs += ms;
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleMs = 0;
  for (const [id, ms] of selfById) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    const name = nameOf(frame);
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const mod = moduleOf(frame);
    modules.set(mod, (modules.get(mod) ?? 0) + ms);
    // Each broker function on the stack gets the sample once, however deep it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (f === undefined || !f.url.includes("/dist/") || f.url.includes("/node_modules/")) continue;
      const key = nameOf(f);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  const busyMs = totalMs - idleMs;
  return {
    file,
    totalMs,
    busyMs,
    functions: rank(functions, busyMs, top),
    modules: rank(modules, busyMs, 15),
    inclusive: rank(inclusive, busyMs, top),
  };
}

/**
 * Every .cpuprofile in `dir` with the thread it is of: node names them `CPU.<date>.<time>.<pid>.<tid>.<seq>`, and a
 * process with worker threads writes one per thread (tid 0 is the main thread). Main thread first.
 */
export function profilesIn(dir: string): { file: string; thread: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  } catch {
    return [];
  }
  return names
    .map((name) => {
      const tid = Number(name.split(".")[4]);
      return { file: join(dir, name), tid: Number.isInteger(tid) ? tid : -1 };
    })
    .sort((a, b) => a.tid - b.tid)
    .map(({ file, tid }) => ({ file, thread: tid === 0 ? "main thread" : `worker thread ${tid}` }));
}

export function formatProfile(summary: ProfileSummary, thread = "main thread"): string {
  const pct = (e: ProfileEntry) => `${(e.share * 100).toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(6)} ms`;
  return [
    `CPU profile of the broker child, ${thread}: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy (shares below are of busy time)`,
    "  top functions by self time:",
    ...summary.functions.map((e) => `    ${pct(e)}  ${e.name}`),
    "  by module (self time):",
    ...summary.modules.map((e) => `    ${pct(e)}  ${e.name}`),
    "  broker functions by inclusive time (callees included):",
    ...summary.inclusive.map((e) => `    ${pct(e)}  ${e.name}`),
  ].join("\n");
}
