/**
 * Fills printf-style placeholders the way pino does (its quick-format): `%s` string, `%d`/`%f` number,
 * `%i` integer, `%j`/`%o`/`%O` JSON, `%%` a percent sign. Arguments without a placeholder are dropped,
 * as pino drops them.
 */
export function formatMessage(template: string, args: readonly unknown[]): string {
  if (args.length === 0 || !template.includes("%")) return template;
  let next = 0;
  return template.replace(/%([sdifjoO%])/g, (whole, kind: string) => {
    if (kind === "%") return "%";
    if (next >= args.length) return whole;
    const arg = args[next++];
    switch (kind) {
      case "s":
        return typeof arg === "object" && arg !== null ? safeJson(arg) : String(arg);
      case "d":
      case "f":
        return String(Number(arg));
      case "i":
        return String(Math.trunc(Number(arg)));
      default:
        return safeJson(arg);
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
