// The import rule: which src/ folders may depend on which. `npm run lint:imports` applies it,
// together with scripts/check-imports.mjs's check for cycles between top-level src/ folders.
// Test files and testing/ folders are left out of the cruise: a test may import anything.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "http-not-storage",
      comment: "HTTP parses, calls a use case and presents; storage is reached through lifecycle and queries.",
      severity: "error",
      from: { path: "^src/http/" },
      to: { path: "^src/storage/" },
    },
    {
      name: "domain-is-pure",
      comment: "domain/ holds pure types and the state machine: node builtins and packages only.",
      severity: "error",
      from: { path: "^src/domain/" },
      to: { path: "^src/", pathNot: "^src/domain/" },
    },
    {
      name: "connectors-not-lifecycle",
      comment: "Connectors are ports the lifecycle drives; they never call back into it.",
      severity: "error",
      from: { path: "^src/connectors/" },
      to: { path: "^src/lifecycle/" },
    },
    {
      name: "no-folder-cycle",
      comment: "No cycle between src/ folders, lifecycle stages included (each stage is a folder).",
      severity: "error",
      scope: "folder",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "no-file-cycle",
      comment: "No cycle between two files either: a module is loaded before anything that needs it.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "through-index",
      comment:
        "From outside a top-level folder, import its index.ts, its one public surface. A dynamic import() may reach past it: those are the lazy-loading seams (drivers, CLI commands).",
      severity: "error",
      from: { path: "^src/([^/]+)/" },
      to: {
        path: "^src/([^/]+)/",
        pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$"],
        dependencyTypesNot: ["dynamic-import"],
      },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: ["\\.test\\.tsx?$", "/testing/"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
