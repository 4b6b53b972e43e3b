#!/usr/bin/env node
// Entry point of the `ephemera` command: runs the compiled CLI (`npm run build` makes dist/).
import { runCli } from "../dist/cli/index.js";

process.exitCode = await runCli(process.argv);
// The command is over: whatever handle a failed start or a library left open must not keep the process alive, so a
// supervisor sees the exit code within a second.
setTimeout(() => process.exit(), 1000).unref();
