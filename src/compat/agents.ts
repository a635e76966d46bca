/**
 * What `import … from "agents"` resolves to while Hearth runs a project: Hearth's own API under the
 * Agents SDK's names. Names the SDK exports that Hearth does not have yet fail at import with Node's
 * "does not provide an export named …", which the CLI turns into a pointer to docs/compat.md.
 * @module
 */
export * from "../index.ts";
export { camelCaseToKebabCase } from "../protocol/kebab.ts";
export {
  /** The Agents SDK's earlier name of {@link callable}. */
  callable as unstable_callable,
} from "../agent/callable.ts";
// Older Agents SDK code imports the email resolvers from the package root.
export { createAddressBasedEmailResolver, createCatchAllEmailResolver, createSecureReplyEmailResolver } from "../email/index.ts";
