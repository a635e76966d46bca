#!/usr/bin/env node
/**
 * The `hearth` executable. Refuses a Node too old for the runtime (node:sqlite, among others) in one
 * line, before anything that needs it loads; this file keeps to syntax old Nodes parse. Then turns on
 * Node's on-disk compile cache before the runtime's modules load, so every start after the first skips
 * compiling them again (NODE_COMPILE_CACHE picks the directory; NODE_DISABLE_COMPILE_CACHE=1 turns it
 * off), and runs the command (command.ts).
 * @module
 */
import module from "node:module";

/** The oldest Node the runtime runs on: package.json's `engines`. */
const MINIMUM_NODE = [22, 12] as const;

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor < MINIMUM_NODE[1])) {
  process.stderr.write(`error Hearth needs Node ≥ ${MINIMUM_NODE.join(".")}; this is ${process.version}\n`);
  process.exit(1);
}

module.enableCompileCache?.();
await import("./command.ts");
