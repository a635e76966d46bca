/**
 * A customer's tools, written by the customer as JavaScript: each is an ES module whose default
 * export takes the text the model passes and returns any JSON value. The code runs in the sandbox
 * (`env.LOADER`, Dynamic Workers): no network, no file system, nothing from the host, bounded CPU,
 * wall clock, memory and output. A tool that throws, loops or allocates fails its own call; the
 * agent and the other customers keep going.
 */
import { createHash } from "node:crypto";
import { tool, type ToolSet } from "ai";
import { z } from "zod";
import type { WorkerLoader } from "hearth";
import { Sandbox } from "hearth/sandbox";
import { BUILDER_LIMITS } from "./limits.ts";

/** One tool as the customer wrote it. */
export interface CustomerTool {
  /** How the model calls it, e.g. `shout`. */
  name: string;
  /** What the model reads to decide when to call it. */
  description: string;
  /** An ES module: `export default async function (input) { … }`. */
  code: string;
}

/** The sandbox limits of every tool call. */
export const TOOL_SANDBOX_LIMITS = {
  cpuMs: BUILDER_LIMITS.toolCpuMs,
  wallMs: BUILDER_LIMITS.toolWallMs,
  memoryBytes: BUILDER_LIMITS.toolMemoryBytes,
  maxOutputBytes: BUILDER_LIMITS.toolMaxOutputBytes,
};

/**
 * Checks a tool from the page and returns it trimmed; throws an error naming the limit it breaks.
 * @example
 * checkTool({ name: "shout", description: "Upper-cases text", code: "export default (s) => s.toUpperCase()" });
 */
export function checkTool(input: unknown): CustomerTool {
  if (typeof input !== "object" || input === null) throw new TypeError("A tool is { name, description, code }");
  const { name, description, code } = input as Record<string, unknown>;
  if (typeof name !== "string" || !BUILDER_LIMITS.toolName.test(name)) {
    throw new TypeError("Tool names are 1-32 of a-z, 0-9 and _, starting with a letter");
  }
  if (typeof description !== "string" || description.trim() === "") throw new TypeError(`Tool ${name} needs a description (the model reads it)`);
  if (description.length > BUILDER_LIMITS.maxToolDescriptionChars) {
    throw new RangeError(`A tool's description is at most ${BUILDER_LIMITS.maxToolDescriptionChars} characters`);
  }
  if (typeof code !== "string" || code.trim() === "") throw new TypeError(`Tool ${name} needs code: export default function (input) { … }`);
  if (code.length > BUILDER_LIMITS.maxToolCodeChars) throw new RangeError(`A tool's code is at most ${BUILDER_LIMITS.maxToolCodeChars} characters`);
  return { name, description: description.trim(), code };
}

/**
 * Loads the code once in a throwaway sandbox, so a syntax error or a module that throws at load is
 * refused when it is saved rather than when the model calls it.
 */
export async function checkToolLoads(tool: CustomerTool): Promise<void> {
  const sandbox = await Sandbox.create({ ...TOOL_SANDBOX_LIMITS, globalOutbound: null });
  try {
    await sandbox.load({ "tool.js": tool.code }, "tool.js");
  } catch (error) {
    throw new TypeError(`Tool ${tool.name} does not load: ${(error as Error).message}`, { cause: error });
  } finally {
    sandbox.dispose();
  }
}

/**
 * Runs one call of a customer's tool. `owner` must be unique to the customer's agent (and to this
 * incarnation of it): the loader keeps workers warm by id, so two customers never share one.
 */
export async function runCustomerTool(loader: WorkerLoader, owner: string, customerTool: CustomerTool, input: string): Promise<unknown> {
  if (input.length > BUILDER_LIMITS.maxToolInputChars) {
    throw new RangeError(`A tool's input is at most ${BUILDER_LIMITS.maxToolInputChars} characters`);
  }
  // Same id, same code: a changed tool gets a fresh sandbox, an unchanged one stays warm.
  const version = createHash("sha256").update(customerTool.code).digest("hex").slice(0, 16);
  const worker = loader.get(`${owner}/${customerTool.name}@${version}`, () => ({
    mainModule: "tool.js",
    modules: { "tool.js": customerTool.code },
    env: {},
    globalOutbound: null,
    limits: TOOL_SANDBOX_LIMITS,
  }));
  const result = await worker.getEntrypoint().call("default", input);
  return result ?? null;
}

/**
 * The customer's tools as AI SDK tools: each takes `{ input: string }`, runs in the sandbox, and a
 * failure (a throw, a limit) becomes the tool's error, which the model sees.
 */
export function toolSetOf(tools: readonly CustomerTool[], run: (tool: CustomerTool, input: string) => Promise<unknown>): ToolSet {
  const set: ToolSet = {};
  for (const customerTool of tools) {
    set[customerTool.name] = tool({
      description: customerTool.description,
      inputSchema: z.object({ input: z.string().describe("The text the tool works on") }),
      execute: async ({ input }) => run(customerTool, input),
    });
  }
  return set;
}
