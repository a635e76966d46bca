import { formatKeyPath } from "./key-path.ts";
import { whereOf } from "./locate.ts";
import { type CheckContext, fail, type NamedBinding } from "./read.ts";

/**
 * `env.X` holds one thing, so a name may be declared once across every binding kind (KV, D1,
 * Durable Objects, queues, vars, unsupported ones…). The one exception: a var and a required
 * secret may share a name (the var is the local stand-in for the secret).
 *
 * @throws {ConfigError} at the second declaration, naming the first.
 */
export function checkBindingNames(ctx: CheckContext): void {
  const seen = new Map<string, NamedBinding>();
  for (const named of ctx.names) {
    const first = seen.get(named.name);
    if (first === undefined) {
      seen.set(named.name, named);
      continue;
    }
    const kinds = new Set([first.kind, named.kind]);
    if (kinds.has("var") && kinds.has("secret") && kinds.size === 2) continue;
    if (first.kind === "secret" && named.kind === "secret") continue;
    fail(
      ctx,
      named.at,
      `is "${named.name}", a name already used by ${formatKeyPath(first.at)} (${whereOf(ctx.source, first.at)}): ` +
        `env.${named.name} can hold one thing, so binding names must be unique across all binding kinds`,
    );
  }
}
