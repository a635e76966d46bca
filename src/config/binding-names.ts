import { formatKeyPath } from "./key-path.ts";
import { lineOf, whereOf } from "./locate.ts";
import { type CheckContext, fail, type NamedBinding } from "./read.ts";

/**
 * `env.X` holds one thing, so a name may be declared once across every binding kind (KV, D1,
 * Durable Objects, queues, vars, unsupported ones…). The one exception: a var and a required
 * secret may share a name (the var is the local stand-in for the secret). `__proto__` is refused.
 *
 * @throws {ConfigError} at the declaration further down the file, naming the other.
 */
export function checkBindingNames(ctx: CheckContext): void {
  const seen = new Map<string, NamedBinding>();
  for (const named of ctx.names) {
    if (named.name === "__proto__") {
      fail(ctx, named.at, `cannot be named "__proto__": env.__proto__ is the object's prototype in JavaScript, not a value it can hold; use another name`);
    }
    const first = seen.get(named.name);
    if (first === undefined) {
      seen.set(named.name, named);
      continue;
    }
    const kinds = new Set([first.kind, named.kind]);
    if (kinds.has("var") && kinds.has("secret") && kinds.size === 2) continue;
    if (first.kind === "secret" && named.kind === "secret") continue;
    // Report at the declaration further down the file, naming the one above it.
    const [earlier, later] = (lineOf(ctx.source, named.at) ?? 0) < (lineOf(ctx.source, first.at) ?? 0) ? [named, first] : [first, named];
    fail(
      ctx,
      later.at,
      `is "${later.name}", a name already used by ${formatKeyPath(earlier.at)} (${whereOf(ctx.source, earlier.at)}): ` +
        `env.${later.name} can hold one thing, so binding names must be unique across all binding kinds`,
    );
  }
}
