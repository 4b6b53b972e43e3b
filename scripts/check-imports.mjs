// Applies the import rule: cruises src/ with .dependency-cruiser.cjs, prints the rule breaks, and fails on any error
// or on a cycle between top-level src/ folders. The folder-scope rule in the config sees src/storage and
// src/storage/sqlite as two nodes, so a cycle audit → storage → storage/sqlite → audit only shows here.
import { cruise } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";

const options = await extractDepcruiseOptions("./.dependency-cruiser.cjs");
const tsConfig = extractTSConfig(options.tsConfig.fileName);
const { output: result } = await cruise(["src"], { ...options, outputType: "json" }, {}, { tsConfig });
const cruised = typeof result === "string" ? JSON.parse(result) : result;

const { summary } = cruised;
const errors = summary.violations.filter((v) => v.rule.severity === "error");
for (const v of errors) {
  const path = v.cycle ? [v.from, ...v.cycle.map((step) => step.name)] : [v.from, v.to];
  console.log(`error ${v.rule.name}: ${path.join(" → ")}`);
}
const warnings = new Map();
for (const v of summary.violations) {
  if (v.rule.severity === "warn") warnings.set(v.rule.name, (warnings.get(v.rule.name) ?? 0) + 1);
}
for (const [rule, count] of warnings) {
  console.log(`${count} warnings from ${rule} (npx depcruise src lists them)`);
}

/** The top-level folder (src/audit) or root file (src/main.ts) a module belongs to. */
const topOf = (path) => path.split("/").slice(0, 2).join("/");
/**
 * The lifecycle stage (src/lifecycle/issue) a module belongs to; the lifecycle's own root files count as one more node,
 * so a stage that imports the lifecycle's index while the index imports the stage is a cycle too. Null outside it.
 */
const stageOf = (path) =>
  path.startsWith("src/lifecycle/")
    ? path
        .split("/")
        .slice(0, path.split("/").length > 3 ? 3 : 2)
        .join("/")
    : null;

/** edges.get(a).get(b): one file-level import behind the folder edge a → b, to show where a cycle comes from. */
function folderEdges(groupOf) {
  const edges = new Map();
  for (const module of cruised.modules) {
    const from = groupOf(module.source);
    if (!module.source.startsWith("src/") || from === null) continue;
    for (const dependency of module.dependencies) {
      const to = groupOf(dependency.resolved);
      if (!dependency.resolved.startsWith("src/") || to === null || to === from) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from).has(to)) edges.get(from).set(to, `${module.source} → ${dependency.resolved}`);
    }
  }
  return edges;
}

/** Strongly connected components of a folder graph (Tarjan), those with more than one folder. */
function cycles(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (node) => {
    index.set(node, index.size);
    low.set(node, index.get(node));
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), index.get(next)));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

let folderCycles = 0;
for (const [name, groupOf] of [
  ["top-level-folder-cycle", topOf],
  ["lifecycle-stage-cycle", stageOf],
]) {
  const edges = folderEdges(groupOf);
  for (const component of cycles(edges)) {
    folderCycles += 1;
    console.log(`\nerror ${name}: ${component.join(", ")} depend on each other:`);
    for (const from of component) {
      for (const [to, example] of edges.get(from) ?? []) {
        if (component.includes(to)) console.log(`  ${from} → ${to}   (${example})`);
      }
    }
  }
}

const failed = errors.length + folderCycles;
console.log(
  failed === 0
    ? `\n✔ import rule holds: no forbidden import, no cycle between src/ folders or lifecycle stages (${summary.totalCruised} modules).`
    : `\n✘ ${errors.length} forbidden imports, ${folderCycles} cycles between src/ folders or lifecycle stages.`,
);
process.exitCode = failed === 0 ? 0 : 1;
