import { StringDecoder } from "node:string_decoder";
import { MAX_SECRET_VALUE_BYTES } from "./names.ts";

/** The most read from a pipe before giving up: far above any valid value, so a mistake ends quickly. */
export const MAX_STDIN_BYTES = 1024 * 1024;

/** A stdin that can hide typing: Node's TTY stream has setRawMode, a pipe does not. */
interface MaybeRawStream extends NodeJS.ReadableStream {
  setRawMode?(raw: boolean): unknown;
}

/** The user pressed Ctrl-C at the prompt. */
export class PromptInterruptedError extends Error {
  constructor() {
    super("interrupted");
    this.name = "PromptInterruptedError";
  }
}

/**
 * Reads everything piped on stdin (up to the end of the stream), trailing whitespace and newlines
 * trimmed as wrangler does.
 *
 * @throws {RangeError} when more than {@link MAX_STDIN_BYTES} arrive.
 * @example
 * const value = await readPipedValue(process.stdin); // `printf 's3cret\n' | …` gives "s3cret"
 */
export async function readPipedValue(stdin: NodeJS.ReadableStream): Promise<string> {
  const decoder = new StringDecoder("utf8");
  let text = "";
  let bytes = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk);
    bytes += buffer.length;
    if (bytes > MAX_STDIN_BYTES) {
      throw new RangeError(`more than ${MAX_STDIN_BYTES} bytes on stdin; a secret is at most ${MAX_SECRET_VALUE_BYTES} bytes`);
    }
    text += decoder.write(buffer);
  }
  return (text + decoder.end()).trimEnd();
}

/**
 * Reads one line typed at a terminal without echoing it (raw mode, nothing written back), ended by
 * Enter; Backspace edits, Ctrl-C rejects with {@link PromptInterruptedError}, Ctrl-D ends the input.
 * Trailing whitespace is trimmed.
 *
 * @example
 * err("Enter a secret value:");
 * const value = await readHiddenLine(process.stdin);
 */
export function readHiddenLine(stdin: NodeJS.ReadableStream): Promise<string> {
  const input = stdin as MaybeRawStream;
  const decoder = new StringDecoder("utf8");
  const raw = typeof input.setRawMode === "function";
  if (raw) input.setRawMode?.(true);
  let typed = "";
  return new Promise<string>((resolve, reject) => {
    const finish = (error?: Error): void => {
      input.removeListener("data", onData);
      input.removeListener("end", onEnd);
      input.removeListener("error", onError);
      if (raw) input.setRawMode?.(false);
      input.pause();
      if (error !== undefined) reject(error);
      else resolve(typed.trimEnd());
    };
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
      for (const char of text) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish();
        if (char === "\u0003") return finish(new PromptInterruptedError());
        if (char === "\u007f" || char === "\b") typed = [...typed].slice(0, -1).join("");
        else typed += char;
      }
    };
    const onEnd = (): void => finish();
    const onError = (error: Error): void => finish(error);
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
    input.resume();
  });
}
