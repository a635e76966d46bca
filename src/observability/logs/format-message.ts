import type { Redactor } from "./redact.ts";
import { sanitize } from "./sanitize.ts";

/**
 * Fills printf-style placeholders the way pino does (its quick-format): `%s` String(value), `%d`/`%f`
 * number, `%i` integer, `%j`/`%o`/`%O` JSON (a string in single quotes, a function by its name), `%%` a
 * percent sign. Arguments without a placeholder are dropped, as pino drops them. Objects are redacted
 * before they become JSON: the finished message is only scrubbed for credential-shaped strings, and
 * `{"password":"…"}` has no such shape.
 */
export function formatMessage(template: string, args: readonly unknown[], redactor: Redactor): string {
  if (args.length === 0 || !template.includes("%")) return template;
  let next = 0;
  return template.replace(/%([sdifjoO%])/g, (whole, kind: string) => {
    if (kind === "%") return "%";
    if (next >= args.length) return whole;
    const arg = args[next++];
    switch (kind) {
      case "s":
        return String(arg);
      case "d":
      case "f":
        return arg == null ? whole : String(Number(arg));
      case "i":
        return arg == null ? whole : String(Math.floor(Number(arg)));
      default:
        if (typeof arg === "string") return `'${arg}'`;
        if (typeof arg === "function") return arg.name || "<anonymous>";
        return safeJson(typeof arg === "object" && arg !== null ? sanitize(arg, redactor) : arg);
    }
  });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value);
  } catch {
    return '"[unable to serialize, circular reference is too complex to analyze]"';
  }
}
