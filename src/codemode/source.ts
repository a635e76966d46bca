/**
 * An API source: what code mode needs from any API — a catalogue of operations, each with JSON
 * Schemas, and a way to call one. AI SDK tools, OpenAPI documents and MCP servers are sources.
 */
import type { ToolExecutionOptions } from "ai";
import type { JsonSchema } from "./declarations.ts";

/**
 * The outcome of an operation's own input validation: the (possibly transformed) value, or problems
 * as `input.path: message` lines.
 *
 * @example
 * ```ts
 * const ok: ValidationOutcome = { ok: true, value: { city: "Oslo" } };
 * const bad: ValidationOutcome = { ok: false, problems: ["input.city: expected string, got number"] };
 * ```
 */
export type ValidationOutcome = { ok: true; value: unknown } | { ok: false; problems: string[] };

/**
 * One operation of an API: what the catalogue shows and the declarations type.
 *
 * @example
 * ```ts
 * const op: ApiOperation = {
 *   name: "repos/get", description: "Get a repository.", tags: ["repos"], route: "GET /repos/{owner}/{repo}",
 *   inputSchema: { type: "object", properties: { owner: { type: "string" }, repo: { type: "string" } }, required: ["owner", "repo"] },
 * };
 * ```
 */
export interface ApiOperation {
  /** Unique in its source; any string (it becomes a valid, distinct identifier). */
  readonly name: string;
  readonly description?: string | undefined;
  /** Groups the operation belongs to (OpenAPI tags, an MCP server id). */
  readonly tags?: readonly string[] | undefined;
  /** Where it goes, for people and search: `GET /repos/{owner}/{repo}`. */
  readonly route?: string | undefined;
  /** The one input object (or value) the method takes. */
  readonly inputSchema: JsonSchema;
  /** What the method resolves to; omitted: `unknown`. */
  readonly outputSchema?: JsonSchema | undefined;
  /** The operation's own validator (e.g. zod); default: the JSON Schema validator over `inputSchema`. */
  readonly validate?: ((input: unknown) => Promise<ValidationOutcome>) | undefined;
}

/**
 * What a call gets besides its input: the tool call it belongs to (abort signal, messages, context).
 *
 * @example
 * ```ts
 * const call: ApiSource["call"] = async (name, input, { abortSignal }) => fetchSomething(name, input, abortSignal);
 * ```
 */
export interface ApiCallContext {
  /** `<code tool call id>:<call number>:<operation name>`. */
  readonly toolCallId: string;
  /** Fires when the code tool's call is aborted, or when the run failed while this call was running. */
  readonly abortSignal?: AbortSignal | undefined;
  /** The execution options of the code tool's own call. */
  readonly execution: ToolExecutionOptions<unknown>;
}

/**
 * A catalogue of operations and a way to call one. The input has been validated against the
 * operation's schema before `call` runs; a thrown Error's message reaches the model's code.
 *
 * @example
 * ```ts
 * const clock: ApiSource = {
 *   operations: [{ name: "now", description: "The time.", inputSchema: { type: "object", properties: {} } }],
 *   call: async () => new Date().toISOString(),
 * };
 * ```
 */
export interface ApiSource {
  readonly operations: readonly ApiOperation[];
  call(operation: string, input: unknown, context: ApiCallContext): Promise<unknown>;
}
