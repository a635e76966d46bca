import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";

/** The longest normalised message kept for a fingerprint, in characters. */
export const MAX_FINGERPRINT_MESSAGE = 512;

/** Hearth's own source (or built) directory: its frames are not the user's code. */
const HEARTH_ROOT = fileURLToPath(new URL("../../", import.meta.url));

const QUOTED = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\\n]|\\.)*`/g;
/**
 * {@link QUOTED}, and also a string still open at the end of the text read. A `'` or a backtick right
 * after a letter or digit is an apostrophe ("can't"), not an opening quote: else in a long message it
 * would swallow everything after it and merge unrelated errors.
 */
const QUOTED_TO_CUT = /"(?:[^"\\\n]|\\.)*(?:"|\\?$)|(?<![\p{L}\p{N}])'(?:[^'\\\n]|\\.)*(?:'|\\?$)|(?<![\p{L}\p{N}])`(?:[^`\\\n]|\\.)*(?:`|\\?$)/gu;

/**
 * A message with what varies between occurrences of the same error replaced: quoted strings by `<str>`,
 * UUIDs by `<uuid>`, hex ids (`0x…`, or 8+ hex digits with a digit among them) by `<hex>`, numbers by `<n>`.
 * @example normaliseMessage('User "ada" not found after 3 tries (id 5f2b9c1e)') // 'User <str> not found after <n> tries (id <hex>)'
 */
export function normaliseMessage(message: string): string {
  const read = MAX_FINGERPRINT_MESSAGE * 4;
  // In a message cut short, a quoted string still open at the cut ran past it: it varies like any other.
  const quoted = message.length > read ? QUOTED_TO_CUT : QUOTED;
  return message
    .slice(0, read)
    .replace(quoted, "<str>")
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "<uuid>")
    .replace(/\b0x[0-9a-f]+\b/gi, "<hex>")
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, "<hex>")
    .replace(/\d+(?:\.\d+)?/g, "<n>")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, MAX_FINGERPRINT_MESSAGE);
}

/**
 * The first stack frame in the user's code, as `function (file)` without line and column (an edit
 * elsewhere in the file keeps the group): frames of Node itself, of `node_modules` and of Hearth are skipped.
 * Only the outermost error counts (the text before a `caused by:`). Undefined when no frame is the user's.
 */
export function topUserFrame(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  const own = stack.split("\ncaused by: ")[0]!;
  for (const line of own.split("\n")) {
    const frame = /^\s*at (?:(.+?) \()?(.+?)(?::\d+)?(?::\d+)?\)?$/.exec(line);
    if (!frame) continue;
    const file = pathOf(frame[2]!);
    // `index 0` is V8's place for Promise.all/allSettled/any: the combinator, not a line of user code.
    if (file.startsWith("node:") || /[/\\]node_modules[/\\]/.test(file) || file.startsWith(HEARTH_ROOT) || file === "<anonymous>" || file === "native" || /^index \d+$/.test(file)) {
      continue;
    }
    return frame[1] ? `${frame[1]} (${file})` : file;
  }
  return undefined;
}

/** A frame's file as a path: a `file://` URL (ES modules) is decoded, so Hearth's own files match its root even in a directory with spaces. */
function pathOf(location: string): string {
  if (!location.startsWith("file://")) return location;
  try {
    return fileURLToPath(location);
  } catch {
    return location.slice("file://".length);
  }
}

/** An error's group: a short hash of its name, normalised message and top user frame. */
export function fingerprintOf(name: string, message: string, frame: string | undefined): string {
  return createHash("sha256").update(`${name}\n${normaliseMessage(message)}\n${frame ?? ""}`).digest("hex").slice(0, 16);
}
