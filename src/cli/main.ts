#!/usr/bin/env node
/**
 * The `hearth` executable. Turns on Node's on-disk compile cache before the runtime's modules load, so
 * every start after the first skips compiling them again (NODE_COMPILE_CACHE picks the directory;
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off), then runs the command (command.ts).
 * @module
 */
import module from "node:module";

module.enableCompileCache?.();
await import("./command.ts");
