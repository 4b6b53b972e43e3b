#!/usr/bin/env node
// Entry point of the `ephemera` command: runs the compiled CLI (`npm run build` makes dist/).
import { runCli } from "../dist/cli/index.js";

process.exitCode = await runCli(process.argv);
