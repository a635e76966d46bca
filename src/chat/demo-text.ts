/**
 * Text helpers of the offline demo model: reading the prompt, picking key words, counting words.
 */
import type { LanguageModelV4Prompt } from "@ai-sdk/provider";

const STOP_WORDS = new Set(
  (
    "the and for with from this that these those what which who whom when where why how are was were " +
    "been being can could would should will shall may might must you your yours our ours they them their its " +
    "not but any all some get gets set use uses used using tool tools function call calls return returns given " +
    "please about into onto have has had does did done just like also then than there here out now today tell " +
    "show give want need let make know one two value values input output result results current specified " +
    "provided optional string number something thing things"
  ).split(" "),
);

/** The distinct key words of a text: lower case, 3+ letters, common words left out. */
export function keywords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((word) => word.length >= 3 && !STOP_WORDS.has(word)))];
}

/** Same word, or one a prefix of the other ("delete" / "deleted"), for words of 4+ letters. */
export function related(a: string, b: string): boolean {
  return a === b || (Math.min(a.length, b.length) >= 4 && (a.startsWith(b) || b.startsWith(a)));
}

/** The key words of `words` that some word of `among` is related to. */
export function matching(words: readonly string[], among: readonly string[]): string[] {
  return words.filter((word) => among.some((other) => related(word, other)));
}

/** The text of the last user message (files as `[name file]`). */
export function lastUserText(prompt: LanguageModelV4Prompt): string {
  const message = prompt.findLast((candidate) => candidate.role === "user");
  if (message?.role !== "user") return "";
  return message.content
    .map((part) => (part.type === "text" ? part.text : `[${part.filename ?? part.mediaType} file]`))
    .join(" ")
    .trim();
}

/** Every system message, joined. */
export function systemText(prompt: LanguageModelV4Prompt): string {
  return prompt
    .flatMap((message) => (message.role === "system" ? [message.content] : []))
    .join("\n")
    .trim();
}

/** The whole prompt as text (for usage counts and ids). */
export function promptText(prompt: LanguageModelV4Prompt): string {
  return prompt
    .map((message) => {
      if (message.role === "system") return message.content;
      return message.content
        .map((part) => {
          if (part.type === "text" || part.type === "reasoning") return part.text;
          if (part.type === "tool-call") return `${part.toolName} ${JSON.stringify(part.input)}`;
          if (part.type === "tool-result") return `${part.toolName} ${JSON.stringify(part.output)}`;
          return "";
        })
        .join(" ");
    })
    .join(" ");
}

export function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export function clipWords(text: string, max: number): string {
  const words = text.split(/\s+/).filter(Boolean);
  return words.length > max ? `${words.slice(0, max).join(" ")}…` : words.join(" ");
}

/** 32-bit FNV-1a, hex: a short deterministic id derived from the request. */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
