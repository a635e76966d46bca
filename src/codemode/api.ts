/**
 * One code-mode API over any number of sources: every operation gets a distinct identifier (the
 * method the code calls, `codemode.<identifier>(input)`), host functions that validate and call,
 * and declarations for all operations or for a chosen few.
 */
import type { ToolExecutionOptions } from "ai";
import { generateDeclarations, toolIdentifiers, type ToolSignature } from "./declarations.ts";
import type { HostFunction } from "./executor.ts";
import { MAX_CATALOGUE_OPERATIONS } from "./limits.ts";
import { RunCalls } from "./run-calls.ts";
import type { ApiOperation, ApiSource } from "./source.ts";
import { validateJsonSchema } from "./validate-json-schema.ts";

/** An operation with the identifier the code calls it by. */
export interface ResolvedOperation {
  readonly identifier: string;
  readonly operation: ApiOperation;
  readonly source: ApiSource;
}

/** The operations of all sources, with identifiers, and what code mode builds from them. */
export class CodeApi {
  readonly operations: readonly ResolvedOperation[];
  readonly #byIdentifier: ReadonlyMap<string, ResolvedOperation>;

  constructor(sources: readonly ApiSource[]) {
    const all = sources.flatMap((source) => source.operations.map((operation) => ({ source, operation })));
    if (all.length > MAX_CATALOGUE_OPERATIONS) {
      throw new RangeError(
        `codemode: the API has ${all.length} operations, more than MAX_CATALOGUE_OPERATIONS (${MAX_CATALOGUE_OPERATIONS}); ` +
          "filter the sources (e.g. openApiSource's include option)",
      );
    }
    // The same name in two sources (or twice in one) gets a suffix before identifiers are made.
    const seen = new Map<string, number>();
    const keys = all.map(({ operation }) => {
      const n = (seen.get(operation.name) ?? 0) + 1;
      seen.set(operation.name, n);
      return n === 1 ? operation.name : `${operation.name}#${n}`;
    });
    const ids = toolIdentifiers(keys);
    this.operations = all.map((entry, i) => ({ ...entry, identifier: ids.get(keys[i] ?? "") ?? `op${i}` }));
    this.#byIdentifier = new Map(this.operations.map((op) => [op.identifier, op]));
  }

  /** The operation behind an identifier. */
  get(identifier: string): ResolvedOperation | undefined {
    return this.#byIdentifier.get(identifier);
  }

  /**
   * TypeScript declarations of the given operations (all by default), as `declare const codemode`;
   * with `outputs: false` the methods return `Promise<unknown>` (much shorter for large responses).
   */
  declarations(identifiers?: readonly string[], options: { outputs?: boolean } = {}): string {
    const chosen = identifiers === undefined ? this.operations : identifiers.map((id) => this.#byIdentifier.get(id)).filter((op) => op !== undefined);
    const signatures: ToolSignature[] = chosen.map(({ identifier, operation }) => ({
      name: identifier,
      description: describe(operation),
      inputSchema: operation.inputSchema,
      outputSchema: options.outputs === false ? undefined : operation.outputSchema,
    }));
    return generateDeclarations(signatures);
  }

  /**
   * One host function per operation: validate the input, then call the source if the run is still
   * on. Without `run` (the functions used outside a code run) calls are refused only once aborted.
   */
  hostFunctions(execution: ToolExecutionOptions<unknown>, run = new RunCalls(execution.abortSignal)): Record<string, HostFunction> {
    const fns: Record<string, HostFunction> = Object.create(null) as Record<string, HostFunction>;
    let calls = 0;
    for (const op of this.operations) {
      fns[op.identifier] = async (raw?: unknown) => {
        const call = ++calls;
        const input = raw === undefined && isObjectRoot(op.operation) ? {} : raw;
        return run.call(op.identifier, () => validate(op, input), (valid) =>
          op.source.call(op.operation.name, valid, {
            toolCallId: `${execution.toolCallId}:${call}:${op.operation.name}`,
            abortSignal: run.signal,
            execution,
          }),
        );
      };
    }
    return fns;
  }
}

/** The description with the route in front, so the model sees where an operation goes. */
function describe(operation: ApiOperation): string | undefined {
  if (operation.route === undefined) return operation.description;
  return operation.description === undefined ? operation.route : `${operation.route}: ${operation.description}`;
}

async function validate(op: ResolvedOperation, input: unknown): Promise<unknown> {
  if (op.operation.validate !== undefined) {
    const outcome = await op.operation.validate(input);
    if (outcome.ok) return outcome.value;
    throw invalid(op, outcome.problems);
  }
  const problems = validateJsonSchema(op.operation.inputSchema, input);
  if (problems.length > 0) throw invalid(op, problems);
  return input;
}

function invalid(op: ResolvedOperation, problems: string[]): TypeError {
  return new TypeError(`codemode.${op.identifier}: invalid input: ${problems.join("; ")}`);
}

function isObjectRoot(operation: ApiOperation): boolean {
  const json = operation.inputSchema;
  return typeof json === "object" && (json.type === "object" || "properties" in json);
}
