/**
 * The demo model's classification rule: categories listed in the prompt (a `categories: a, b, c`
 * line, each optionally described by a `- a: …` line) or the enum of a structured output; the text
 * goes to the category whose name (3 points a word) and description (1 point a word) share most key
 * words with it, with a confidence that says how clear the win was.
 */
import { keywords, related } from "./demo-text.ts";

export interface DemoCategory {
  label: string;
  description: string;
}

export interface DemoClassification {
  label: string;
  /** 0.95 for a clear win, 0.5 for a tie, 0.1 when no key word matched. */
  confidence: number;
  /** One sentence. */
  reason: string;
}

/** The line that lists the categories: `categories:` (or `labels:`, `classes:`, `intents:`) and 2+ names. */
const LIST_LINE = /^[ \t]*(?:categories|labels|classes|intents)[ \t]*:[ \t]*(.+)$/im;

/** Names a fallback category goes by, chosen when nothing in the text matches. */
const FALLBACK = /^(other|others|general|default|unknown|none|misc|miscellaneous|fallback)$/i;

/** The categories a prompt lists, with their descriptions; undefined when it lists fewer than two. */
export function listedCategories(text: string): DemoCategory[] | undefined {
  const listed = LIST_LINE.exec(text)?.[1];
  if (!listed) return undefined;
  const labels = listed
    .split(/[,|]/)
    .map((label) => label.trim().replace(/^["'`]+|["'`.]+$/g, ""))
    .filter((label) => label.length > 0 && label.length <= 64);
  if (labels.length < 2) return undefined;
  return labels.map((label) => ({ label, description: describedIn(text, label) }));
}

/** The description of `label` in `text`: a line `- label: description` (also `label — description`). */
export function describedIn(text: string, label: string): string {
  const name = label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const line = new RegExp(`^[ \\t]*(?:[-*•]|\\d+[.)])?[ \\t]*["'\`]?${name}["'\`]?[ \\t]*(?::|—|–| - )[ \\t]*(.+)$`, "im");
  return line.exec(text)?.[1]?.trim() ?? "";
}

/**
 * The part of a message to classify: without the category lines; what follows a `Text:`,
 * `Input:`, `Message:` or `Request:` marker when there is one.
 */
export function textToClassify(message: string, categories: readonly DemoCategory[]): string {
  const marked = /^[ \t]*(?:text|input|message|request|query)[ \t]*:[ \t]*([\s\S]+)$/im.exec(message)?.[1];
  const source = marked ?? message;
  return source
    .split("\n")
    .filter((line) => !LIST_LINE.test(line) && !categories.some((c) => c.description !== "" && line.includes(c.description)))
    .join("\n")
    .trim();
}

/** Classifies `text` into one of `categories` (declared order breaks ties). */
export function classify(text: string, categories: readonly DemoCategory[]): DemoClassification {
  const words = keywords(text);
  const scored = categories.map((category) => {
    const nameWords = keywords(category.label.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_\-.]+/g, " "));
    const descriptionWords = keywords(category.description);
    let score = 0;
    const matched: string[] = [];
    for (const word of words) {
      if (nameWords.some((k) => related(word, k))) score += 3;
      else if (descriptionWords.some((k) => related(word, k))) score += 1;
      else continue;
      matched.push(word);
    }
    return { category, score, matched };
  });
  const ranked = [...scored].sort((a, b) => b.score - a.score);
  const best = ranked[0];
  if (!best || best.score === 0) {
    const fallback = categories.find((c) => FALLBACK.test(c.label)) ?? categories[0];
    const label = fallback?.label ?? "";
    return { label, confidence: 0.1, reason: `Nothing in the text matches a category, so it goes to ${label}.` };
  }
  const second = ranked[1]?.score ?? 0;
  const confidence = Math.round((0.5 + (0.45 * (best.score - second)) / best.score) * 100) / 100;
  const words3 = best.matched.slice(0, 3).map((word) => `"${word}"`);
  return { label: best.category.label, confidence, reason: `The text mentions ${words3.join(", ")}, which fit ${best.category.label}.` };
}
