/**
 * TypeScript declarations of a tool set, generated from JSON Schema, for the model's prompt.
 *
 * The output is deterministic (same tools in, same text out) and compact: one `interface` (or `type`)
 * per tool input, one per output when the tool declares an output schema, one per referenced
 * `$defs` entry, then `declare const codemode: { … }` with one method per tool.
 */

/**
 * A JSON Schema (draft 7 / 2019-09 / 2020-12 subset, plus OpenAPI's `nullable`).
 *
 * @example
 * ```ts
 * const schema: JsonSchema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
 * ```
 */
export type JsonSchema = boolean | { readonly [key: string]: unknown };

/**
 * One tool as the declaration generator sees it.
 *
 * @example
 * ```ts
 * const signature: ToolSignature = { name: "get-weather", description: "Weather now.", inputSchema: schema };
 * ```
 */
export interface ToolSignature {
  /** The tool's key in the tool set (any string; it becomes a valid identifier). */
  readonly name: string;
  readonly description?: string | undefined;
  readonly inputSchema: JsonSchema;
  /** Omitted: the method returns `Promise<unknown>`. */
  readonly outputSchema?: JsonSchema | undefined;
}

type SchemaObject = { readonly [key: string]: unknown };

const IDENTIFIER = /^[\p{ID_Start}_$][\p{ID_Continue}$\u200c\u200d]*$/u;

/**
 * Maps tool names to valid, distinct JavaScript identifiers. Names that already are identifiers keep
 * themselves; in the others runs of characters that are not allowed become `_` and a leading digit
 * gets a `_` prefix; a collision gets `_2`, `_3`, … in the sorted order of the original names, so the
 * result does not depend on the order of the tool set.
 *
 * @example
 * ```ts
 * toolIdentifiers(["get-weather", "get_weather", "2fa"]);
 * // Map { "get_weather" => "get_weather", "2fa" => "_2fa", "get-weather" => "get_weather_2" }
 * ```
 */
export function toolIdentifiers(names: readonly string[]): Map<string, string> {
  const result = new Map<string, string>();
  const used = new Set<string>();
  const sorted = [...new Set(names)].sort(compareStrings);
  for (const name of sorted.filter((n) => IDENTIFIER.test(n))) {
    used.add(name);
    result.set(name, name);
  }
  for (const name of sorted.filter((n) => !IDENTIFIER.test(n))) {
    let base = name.replace(/[^\p{ID_Continue}$]+/gu, "_");
    if (base === "" || base === "_") base = "tool";
    if (!/^[\p{ID_Start}_$]/u.test(base)) base = `_${base}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    result.set(name, id);
  }
  return result;
}

/**
 * Generates the declarations text for a list of tools.
 *
 * @example
 * ```ts
 * generateDeclarations([{ name: "get_weather", description: "Current weather.",
 *   inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }]);
 * // interface GetWeatherInput {
 * //   city: string;
 * // }
 * // declare const codemode: {
 * //   /** Current weather. *\/
 * //   get_weather(input: GetWeatherInput): Promise<unknown>;
 * // };
 * ```
 */
export function generateDeclarations(tools: readonly ToolSignature[]): string {
  const ids = toolIdentifiers(tools.map((t) => t.name));
  const names = new TypeNames();
  const blocks: string[] = [];
  const methods: string[] = [];
  for (const tool of tools) {
    const id = ids.get(tool.name) ?? tool.name;
    const base = pascal(id);
    const inputName = names.claim(`${base}Input`);
    const outputName = tool.outputSchema === undefined ? undefined : names.claim(`${base}Output`);
    const input = new SchemaPrinter(tool.inputSchema, inputName, names, blocks);
    blocks.push(input.declaration(inputName));
    input.flushDefs();
    let output = "unknown";
    if (tool.outputSchema !== undefined && outputName !== undefined) {
      const printer = new SchemaPrinter(tool.outputSchema, outputName, names, blocks);
      blocks.push(printer.declaration(outputName));
      printer.flushDefs();
      output = outputName;
    }
    const optional = !hasRequired(tool.inputSchema) ? "?" : "";
    methods.push(`${docComment(tool.description, "", "  ")}  ${id}(input${optional}: ${inputName}): Promise<${output}>;`);
  }
  blocks.push(`declare const codemode: {\n${methods.join("\n")}\n};`);
  return blocks.join("\n");
}

/** Whether calling the tool needs an argument at all (an object schema with required keys, or not an object). */
function hasRequired(schema: JsonSchema): boolean {
  if (typeof schema === "boolean") return false;
  if (isObjectSchema(schema)) return Array.isArray(schema.required) && schema.required.length > 0;
  return !isEmptySchema(schema);
}

function isEmptySchema(schema: SchemaObject): boolean {
  return Object.keys(schema).every((k) => k === "description" || k === "title" || k === "$schema");
}

class TypeNames {
  readonly #used = new Set<string>(["Promise", "Record", "Array", "unknown", "codemode"]);
  /**
   * Named types already emitted, by schema object and pointer: tools whose `$defs` share the very
   * same schema objects (an OpenAPI document's components) share one declaration.
   */
  readonly shared = new WeakMap<object, Map<string, string>>();
  claim(base: string): string {
    let name = base;
    for (let n = 2; this.#used.has(name); n++) name = `${base}${n}`;
    this.#used.add(name);
    return name;
  }
}

/** Prints one root schema (one tool's input or output) and the named types its `$ref`s need. */
class SchemaPrinter {
  readonly #root: JsonSchema;
  readonly #rootName: string;
  readonly #names: TypeNames;
  readonly #blocks: string[];
  /** JSON pointer → type name, for every `$ref` met so far. */
  readonly #refs = new Map<string, string>();
  readonly #pending: Array<[string, string]> = [];

  constructor(root: JsonSchema, rootName: string, names: TypeNames, blocks: string[]) {
    this.#root = root;
    this.#rootName = rootName;
    this.#names = names;
    this.#blocks = blocks;
  }

  /** `interface X { … }` for object schemas, `type X = …;` otherwise. */
  declaration(name: string, schema: JsonSchema = this.#root): string {
    const doc = typeof schema === "object" && name !== this.#rootName ? docComment(stringField(schema, "description"), "", "") : "";
    if (typeof schema === "object" && isPlainObjectSchema(schema)) {
      return `${doc}interface ${name} ${this.#objectBody(schema, "")}`;
    }
    return `${doc}type ${name} = ${this.type(schema, "")};`;
  }

  /** Emits the named types of `$ref`s (transitively) after the root declaration. */
  flushDefs(): void {
    for (let entry = this.#pending.shift(); entry !== undefined; entry = this.#pending.shift()) {
      const [pointer, name] = entry;
      const target = resolvePointer(this.#root, pointer);
      this.#blocks.push(this.declaration(name, target ?? true));
    }
  }

  type(schema: JsonSchema, indent: string): string {
    if (schema === true) return "unknown";
    if (schema === false) return "never";
    const ref = stringField(schema, "$ref");
    if (ref !== undefined) return this.#ref(ref);
    let type = this.#core(schema, indent);
    const allOf = schemaList(schema.allOf);
    if (allOf.length > 0) {
      const parts = allOf.map((s) => wrap(this.type(s, indent)));
      type = type === "unknown" ? parts.join(" & ") : [wrap(type), ...parts].join(" & ");
    }
    if (schema.nullable === true && !type.split(" | ").includes("null")) type = `${type} | null`;
    return type;
  }

  #core(schema: SchemaObject, indent: string): string {
    if ("const" in schema) return literal(schema.const);
    if (Array.isArray(schema.enum)) return schema.enum.length === 0 ? "never" : unique(schema.enum.map(literal)).join(" | ");
    const union = schemaList(schema.anyOf).length > 0 ? schemaList(schema.anyOf) : schemaList(schema.oneOf);
    const base = this.#typed(schema, indent);
    if (union.length > 0) {
      const options = unique(union.map((s) => this.type(s, indent)));
      const joined = options.join(" | ");
      return base === "unknown" ? joined : `${wrap(base)} & (${joined})`;
    }
    return base;
  }

  /** The type from `type` (a name or a list of names), or from the keywords when `type` is absent. */
  #typed(schema: SchemaObject, indent: string): string {
    const declared = schema.type;
    const types = Array.isArray(declared) ? declared.filter((t): t is string => typeof t === "string") : typeof declared === "string" ? [declared] : [];
    if (types.length === 0) {
      if (isObjectSchema(schema)) return this.#object(schema, indent);
      if ("items" in schema || "prefixItems" in schema) return this.#array(schema, indent);
      return "unknown";
    }
    return unique(types.map((t) => this.#named(t, schema, indent))).join(" | ");
  }

  #named(type: string, schema: SchemaObject, indent: string): string {
    switch (type) {
      case "string": return "string";
      case "number": case "integer": return "number";
      case "boolean": return "boolean";
      case "null": return "null";
      case "array": return this.#array(schema, indent);
      case "object": return this.#object(schema, indent);
      default: return "unknown";
    }
  }

  #array(schema: SchemaObject, indent: string): string {
    const tuple = Array.isArray(schema.prefixItems) ? schemaList(schema.prefixItems) : Array.isArray(schema.items) ? schemaList(schema.items) : undefined;
    if (tuple !== undefined) {
      const rest = Array.isArray(schema.prefixItems) ? schema.items : schema.additionalItems;
      const parts = tuple.map((s) => this.type(s, indent));
      if (rest !== undefined && rest !== false) parts.push(`...${wrap(this.type(rest as JsonSchema, indent))}[]`);
      return `[${parts.join(", ")}]`;
    }
    const items = schema.items;
    const item = items === undefined ? "unknown" : this.type(items as JsonSchema, indent);
    return `${wrap(item)}[]`;
  }

  #object(schema: SchemaObject, indent: string): string {
    if (propertiesOf(schema).length === 0) {
      const index = this.#indexType(schema, indent);
      return index === undefined ? "{}" : `Record<string, ${index}>`;
    }
    return this.#objectBody(schema, indent);
  }

  #objectBody(schema: SchemaObject, indent: string): string {
    const inner = `${indent}  `;
    const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === "string") : []);
    const lines: string[] = [];
    for (const [key, prop] of propertiesOf(schema)) {
      const doc = typeof prop === "object" ? docComment(stringField(prop, "description"), notes(prop), inner) : "";
      const optional = required.has(key) ? "" : "?";
      lines.push(`${doc}${inner}${propertyKey(key)}${optional}: ${this.type(prop, inner)};`);
    }
    const index = this.#indexType(schema, inner);
    if (index !== undefined) lines.push(`${inner}[key: string]: ${index};`);
    if (lines.length === 0) return "{}";
    return `{\n${lines.join("\n")}\n${indent}}`;
  }

  /**
   * The value type of the object's index signature, or undefined when it has none: from
   * `additionalProperties` and `patternProperties`. An absent `additionalProperties` is open in JSON
   * Schema, but on an object with declared properties only those are worth showing.
   */
  #indexType(schema: SchemaObject, indent: string): string | undefined {
    const extra = schema.additionalProperties;
    const patterns = Object.values(recordOf(schema.patternProperties)).filter(isSchema);
    const props = propertiesOf(schema);
    const sources: JsonSchema[] = [...patterns];
    if (isSchema(extra)) {
      if (extra !== false) sources.push(typeof extra === "object" && Object.keys(extra).length === 0 ? true : extra);
    } else if (props.length === 0 && patterns.length === 0) {
      sources.push(true);
    }
    if (sources.length === 0) return undefined;
    const types = unique(sources.map((s) => this.type(s, indent)));
    if (types.includes("unknown")) return "unknown";
    // An index signature must admit the declared properties' types too.
    return unique([...types, ...props.map(([, s]) => this.type(s, indent))]).join(" | ");
  }

  #ref(ref: string): string {
    if (!ref.startsWith("#")) return "unknown";
    const pointer = ref.slice(1);
    if (pointer === "" || pointer === "/") return this.#rootName;
    const known = this.#refs.get(pointer);
    if (known !== undefined) return known;
    const target = resolvePointer(this.#root, pointer);
    if (target === undefined) return "unknown";
    const byPointer = typeof target === "object" ? (this.#names.shared.get(target) ?? new Map<string, string>()) : undefined;
    const emitted = byPointer?.get(pointer);
    if (emitted !== undefined) {
      this.#refs.set(pointer, emitted);
      return emitted;
    }
    const last = pointer.split("/").filter(Boolean).pop() ?? "Ref";
    const name = this.#names.claim(pascal(decodePointerSegment(last)));
    this.#refs.set(pointer, name);
    if (byPointer !== undefined && typeof target === "object") {
      byPointer.set(pointer, name);
      this.#names.shared.set(target, byPointer);
    }
    this.#pending.push([pointer, name]);
    return name;
  }
}

function isObjectSchema(schema: SchemaObject): boolean {
  return schema.type === "object" || (Array.isArray(schema.type) && schema.type.includes("object")) ||
    (schema.type === undefined && ("properties" in schema || "additionalProperties" in schema || "patternProperties" in schema));
}

/** An object schema that can be printed as an interface: only `type: "object"`, properties and docs. */
function isPlainObjectSchema(schema: SchemaObject): boolean {
  if (!isObjectSchema(schema) || Array.isArray(schema.type)) return false;
  if ("anyOf" in schema || "oneOf" in schema || "allOf" in schema || "$ref" in schema || "enum" in schema || "const" in schema) return false;
  if (schema.nullable === true) return false;
  return true;
}

/** An object's members, or none. */
export function recordOf(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A JSON Schema is an object or a boolean. */
export function isSchema(value: unknown): value is JsonSchema {
  return typeof value === "boolean" || (typeof value === "object" && value !== null && !Array.isArray(value));
}

/** The schemas of a list keyword (anyOf, oneOf, allOf, prefixItems). */
export function schemaList(value: unknown): JsonSchema[] {
  return Array.isArray(value) ? value.filter(isSchema) : [];
}

function propertiesOf(schema: SchemaObject): Array<[string, JsonSchema]> {
  return Object.entries(recordOf(schema.properties)).filter((e): e is [string, JsonSchema] => isSchema(e[1]));
}


function stringField(schema: SchemaObject, key: string): string | undefined {
  const value = schema[key];
  return typeof value === "string" ? value : undefined;
}

const NOTES: ReadonlyArray<[string, string]> = [
  ["format", "format"], ["pattern", "pattern"], ["minimum", "min"], ["maximum", "max"],
  ["exclusiveMinimum", "over"], ["exclusiveMaximum", "under"], ["minLength", "minLength"], ["maxLength", "maxLength"],
  ["minItems", "minItems"], ["maxItems", "maxItems"], ["default", "default"],
];

/** Constraints worth telling the model, on one line: `format date-time, max 100, default 20`. */
function notes(schema: SchemaObject): string {
  const out: string[] = [];
  for (const [key, label] of NOTES) {
    const value = schema[key];
    if (value === undefined) continue;
    out.push(`${label} ${key === "default" || typeof value !== "string" ? JSON.stringify(value) : value}`);
  }
  if (schema.deprecated === true) out.push("deprecated");
  return out.join(", ");
}

/** A doc comment, on one line when it fits on one; `note` ends the last line after a `; `. */
function docComment(description: string | undefined, note: string, indent: string): string {
  const lines = description?.trim() ? description.trim().split(/\r?\n/) : [];
  if (note !== "") {
    if (lines.length === 0) lines.push(note);
    else lines[lines.length - 1] = `${(lines.at(-1) ?? "").replace(/[.;:,]$/, "")}; ${note}`;
  }
  for (let i = 0; i < lines.length; i++) lines[i] = (lines[i] ?? "").replace(/\*\//g, "*\\/").trimEnd();
  if (lines.length === 0) return "";
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ` ${l}` : ""}`).join("\n")}\n${indent} */\n`;
}

function propertyKey(key: string): string {
  return IDENTIFIER.test(key) ? key : JSON.stringify(key);
}

function literal(value: unknown): string {
  if (value === null || typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "number";
  return "unknown";
}

/** Parenthesises a type with a top-level `|` or `&`, where it would bind wrongly (`(A | B)[]`). */
function wrap(type: string): string {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < type.length; i++) {
    const c = type[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "{" || c === "[" || c === "(" || c === "<") depth++;
    else if (c === "}" || c === "]" || c === ")" || c === ">") depth--;
    else if (depth === 0 && (c === "|" || c === "&")) return `(${type})`;
  }
  return type;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** `get_weather` → `GetWeather`, `listV2Items` → `ListV2Items`. */
export function pascal(id: string): string {
  const name = id.split(/[^\p{L}\p{N}]+/u).filter(Boolean).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
  return /^\p{ID_Start}/u.test(name) ? name : `_${name}`;
}

function decodePointerSegment(segment: string): string {
  return decodeURIComponent(segment).replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Resolves a JSON pointer (`/$defs/Address`) inside a schema; undefined when it leads nowhere. */
export function resolvePointer(root: JsonSchema, pointer: string): JsonSchema | undefined {
  let node: unknown = root;
  for (const raw of pointer.split("/").slice(1)) {
    const segment = decodePointerSegment(raw);
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (typeof node === "object" && node !== null) node = (node as Record<string, unknown>)[segment];
    else return undefined;
  }
  return isSchema(node) ? node : undefined;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
