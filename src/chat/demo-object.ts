/**
 * What the demo model reads a prompt as (a classification, a judgement, or plain text), and the
 * JSON it answers with when asked for structured output: a value valid for the schema whose
 * fields are filled by meaning (a label's enum by classification, `confidence`, `reason`, the
 * best candidate…), the rest as tool arguments are.
 */
import type { JSONSchema7Definition, LanguageModelV4Prompt } from "@ai-sdk/provider";
import { classify, describedIn, listedCategories, textToClassify, type DemoCategory, type DemoClassification } from "./demo-classify.ts";
import { judge, listedCandidates, type DemoJudgement } from "./demo-judge.ts";
import { clipWords, lastUserText, systemText } from "./demo-text.ts";
import { clampNumber, clampString, schemaType, sourceOf, valueFor, type ArgumentSource } from "./demo-tools.ts";

/** A prompt as the demo model understands it. */
export interface DemoTask {
  userText: string;
  system: string;
  /** Categories listed in the system prompt or the user's message. */
  categories?: DemoCategory[];
  /** The judgement, when the prompt lists candidates. */
  judgement?: DemoJudgement;
}

export function readTask(prompt: LanguageModelV4Prompt): DemoTask {
  const userText = lastUserText(prompt);
  const system = systemText(prompt);
  const task: DemoTask = { userText, system };
  const categories = listedCategories(system) ?? listedCategories(userText);
  if (categories) task.categories = categories.map((c) => ({ label: c.label, description: c.description || describedIn(`${system}\n${userText}`, c.label) }));
  const inUser = listedCandidates(userText);
  const inSystem = inUser ? undefined : listedCandidates(system);
  if (inUser) task.judgement = judge(inUser.before, inUser.candidates);
  else if (inSystem) task.judgement = judge(`${inSystem.before}\n${userText}`, inSystem.candidates);
  return task;
}

/** The classification of the user's message into `categories` (those listed, by default). */
export function classifyTask(task: DemoTask, categories: readonly DemoCategory[] | undefined = task.categories): DemoClassification | undefined {
  if (!categories || categories.length === 0) return undefined;
  return classify(textToClassify(task.userText, categories), categories);
}

/** The JSON text of a structured answer (no notice: it must parse). */
export function objectAnswer(task: DemoTask, schema: JSONSchema7Definition | undefined): string {
  if (schema === undefined) return JSON.stringify({ answer: `You said: "${clipWords(task.userText, 60)}".` });
  // With no listed categories, the schema's first enum of names is the classification (its reason and confidence too).
  const labels = task.categories ? undefined : firstEnum(schema, 0);
  const context = `${task.system}\n${task.userText}`;
  const withCategories = labels ? { ...task, categories: labels.map((label) => ({ label, description: describedIn(context, label) })) } : task;
  return JSON.stringify(fill(schema, "", withCategories, sourceOf(task.userText), 0));
}

/** The first enum of 2+ strings in the schema, depth first. */
function firstEnum(schema: JSONSchema7Definition | undefined, depth: number): string[] | undefined {
  if (schema === undefined || typeof schema === "boolean" || depth > 8) return undefined;
  const strings = schema.enum?.filter((value): value is string => typeof value === "string");
  if (strings && strings.length >= 2) return strings;
  for (const child of [...Object.values(schema.properties ?? {}), ...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) {
    const found = firstEnum(child, depth + 1);
    if (found) return found;
  }
  const items = Array.isArray(schema.items) ? schema.items[0] : schema.items;
  return firstEnum(items, depth + 1);
}

const CONFIDENCE = /confidence|certainty|probability/i;
const REASON = /reason|why|rationale|explanation|justification/i;
const LABEL = /label|category|class|intent|route|topic/i;
const PICK = /best|winner|choice|pick|selected|candidate|index/i;
const PROSE = /answer|text|content|response|reply|message|output|result|summary/i;

function fill(schema: JSONSchema7Definition, name: string, task: DemoTask, source: ArgumentSource, depth: number): unknown {
  if (typeof schema === "boolean" || depth > 8) return valueFor(schema, name, source, depth);
  if (schema.default !== undefined || schema.const !== undefined) return valueFor(schema, name, source, depth);
  if (schema.enum && schema.enum.length > 0) return pickFromEnum(schema.enum, task);
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema.allOf?.[0];
  if (branch !== undefined && schema.type === undefined) return fill(branch, name, task, source, depth + 1);
  const type = schemaType(schema);
  if (type === "object") {
    const value: Record<string, unknown> = {};
    for (const key of schema.required ?? []) value[key] = fill(schema.properties?.[key] ?? {}, key, task, source, depth + 1);
    return value;
  }
  if (type === "array") {
    const item = Array.isArray(schema.items) ? schema.items[0] : schema.items;
    return Array.from({ length: schema.minItems ?? 0 }, () => fill(item ?? {}, name, task, source, depth + 1));
  }
  if (type === "number" || type === "integer") {
    if (CONFIDENCE.test(name)) return clampNumber(schema, classifyTask(task)?.confidence ?? (task.judgement ? 0.9 : 0.5));
    if (task.judgement && PICK.test(name)) return clampNumber(schema, /index/i.test(name) ? task.judgement.index : task.judgement.best.number);
    return valueFor(schema, name, source, depth);
  }
  if (type === "string") {
    const text = stringFor(name, task);
    return text === undefined ? valueFor(schema, name, source, depth) : clampString(schema, text);
  }
  return valueFor(schema, name, source, depth);
}

/** A string field filled by its meaning, or undefined for one read from the message. */
function stringFor(name: string, task: DemoTask): string | undefined {
  if (REASON.test(name)) return task.judgement?.reason ?? classifyTask(task)?.reason ?? `You said: "${clipWords(task.userText, 60)}".`;
  if (LABEL.test(name) && task.categories) return classifyTask(task)?.label;
  if (task.judgement && (PICK.test(name) || PROSE.test(name))) return task.judgement.best.text;
  if (PROSE.test(name)) return `You said: "${clipWords(task.userText, 60)}".`;
  return undefined;
}

/** An enum's value: the category the message fits, among the enum's values. */
function pickFromEnum(values: readonly unknown[], task: DemoTask): unknown {
  const labels = values.filter((value): value is string => typeof value === "string");
  if (labels.length < 2) return values[0];
  const context = `${task.system}\n${task.userText}`;
  const categories = labels.map((label) => ({ label, description: task.categories?.find((c) => c.label === label)?.description || describedIn(context, label) }));
  return classifyTask(task, categories)?.label ?? values[0];
}
