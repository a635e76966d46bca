/**
 * The scripted multi-step tasks the code-mode demo model carries out, and the JavaScript it writes
 * for them. A task is a user message of this form:
 *
 * ```text
 * Steps:
 * 1. get a repository {"owner":"octocat","repo":"hello-world"}
 * 2. list repository issues {"owner":"$1.owner.login","repo":"$1.name","state":"open"}
 * Answer: {"repo":"$1.full_name","openIssues":"$2.length"}
 * ```
 *
 * Each step is a search query (words that name the operation) and its input; `"$n.path"` stands for
 * a value of step n's result (`$2.0.login`: the first element's `login`).
 */
import { wordsOf } from "../codemode/discovery/catalogue.ts";

/** One step: which operation (as search words) and its input. */
export interface DemoCodeStep {
  readonly query: string;
  readonly input: Record<string, unknown>;
}

/** A parsed task. */
export interface DemoCodeTask {
  readonly steps: readonly DemoCodeStep[];
  /** What the answer combines, with `$n.path` references. */
  readonly answer: Record<string, unknown>;
}

/** An operation the model can choose: its name and the words describing it. */
export interface DemoOperation {
  readonly name: string;
  readonly description: string;
}

const STEP = /^\s*\d+[.)]\s+(.+?)\s+(\{.*\})\s*$/;
const ANSWER = /^\s*Answer:\s*(\{.*\})\s*$/i;
const REFERENCE = /^\$(\d+)((?:\.[^.]+)*)$/;

/** The task in a message, or undefined when it holds none (no `Steps:` list with an `Answer:`). */
export function parseCodeTask(text: string): DemoCodeTask | undefined {
  if (!/^\s*Steps:\s*$/im.test(text)) return undefined;
  const steps: DemoCodeStep[] = [];
  let answer: Record<string, unknown> | undefined;
  for (const line of text.split(/\r?\n/)) {
    const step = STEP.exec(line);
    const end = ANSWER.exec(line);
    try {
      if (step?.[1] !== undefined && step[2] !== undefined) steps.push({ query: step[1], input: JSON.parse(step[2]) as Record<string, unknown> });
      else if (end?.[1] !== undefined) answer = JSON.parse(end[1]) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return steps.length > 0 && answer !== undefined ? { steps, answer } : undefined;
}

/** Replaces `$n.path` strings by the values of earlier results (results[0] is step 1's). */
export function resolveReferences(value: unknown, results: readonly unknown[]): unknown {
  if (typeof value === "string") {
    const ref = REFERENCE.exec(value);
    if (ref === null) return value;
    let node: unknown = results[Number(ref[1]) - 1];
    for (const key of (ref[2] ?? "").split(".").slice(1)) {
      node = node === null || node === undefined ? undefined : (node as Record<string, unknown>)[key];
    }
    return node;
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, results));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, results)]));
  }
  return value;
}

/** A value as a JavaScript expression, `$n.path` strings as `rn.path` (`$2.0.login` → `r2[0].login`). */
export function toExpression(value: unknown): string {
  if (typeof value === "string") {
    const ref = REFERENCE.exec(value);
    if (ref === null) return JSON.stringify(value);
    const path = (ref[2] ?? "").split(".").slice(1).map((key) => (/^\d+$/.test(key) ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`));
    return `r${ref[1]}${path.join("")}`;
  }
  if (Array.isArray(value)) return `[${value.map(toExpression).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    return `{ ${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toExpression(v)}`).join(", ")} }`;
  }
  return JSON.stringify(value) ?? "undefined";
}

/** The `execute` code: one awaited call per step, in order, then the combined answer. */
export function executeCode(task: DemoCodeTask, names: readonly string[]): string {
  const lines = task.steps.map((step, i) => `  const r${i + 1} = await codemode[${JSON.stringify(names[i] ?? "")}](${toExpression(step.input)});`);
  return `async () => {\n${lines.join("\n")}\n  return ${toExpression(task.answer)};\n}`;
}

/** The `search` code: the best match of each step's words, and the declarations of those found. */
export function searchCode(task: DemoCodeTask): string {
  const queries = JSON.stringify(task.steps.map((s) => s.query));
  return `async () => {
  const names = [];
  for (const query of ${queries}) names.push((await catalogue.find(query, 1))[0]?.name ?? null);
  return { names, declarations: await catalogue.declarations(names.filter((n) => n !== null)) };
}`;
}

/**
 * The operation a query names: each query word in the name counts 3, in the description 1 (words
 * of 4+ letters also match by prefix: "repo" / "repository"); ties go to the shorter name, then the first.
 */
export function chooseOperation(query: string, operations: readonly DemoOperation[]): DemoOperation | undefined {
  const words = wordsOf(query);
  let best: { op: DemoOperation; score: number; length: number } | undefined;
  for (const op of operations) {
    const name = wordsOf(op.name);
    const description = wordsOf(op.description);
    let score = 0;
    for (const word of words) score += name.some((w) => related(w, word)) ? 3 : description.some((w) => related(w, word)) ? 1 : 0;
    if (score > 0 && (best === undefined || score > best.score || (score === best.score && name.length < best.length))) best = { op, score, length: name.length };
  }
  return best?.op;
}

/** The methods of a `declare const codemode: { … }` block, with their doc comments. */
export function declaredMethods(declarations: string): DemoOperation[] {
  const start = declarations.lastIndexOf("declare const codemode: {");
  if (start < 0) return [];
  const out: DemoOperation[] = [];
  let doc = "";
  for (const line of declarations.slice(start).split("\n").slice(1)) {
    const method = /^\s{2}([\p{ID_Start}_$][\p{ID_Continue}$]*)\(input/u.exec(line);
    if (method?.[1] !== undefined) {
      out.push({ name: method[1], description: doc });
      doc = "";
    } else if (/^\s{2}\s?(\/\*\*|\*)/.test(line)) {
      doc += ` ${line.replace(/^\s*\/?\*+\/?|\*\/\s*$/g, "").trim()}`;
    }
  }
  return out;
}


function related(a: string, b: string): boolean {
  return a === b || (Math.min(a.length, b.length) >= 4 && (a.startsWith(b) || b.startsWith(a)));
}
