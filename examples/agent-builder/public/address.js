// Where the pages find the agents. The one place a customer's address is made: the customer's page
// and the operator's page both go through here.
/* global location */
import { agentUrl } from "./vendor/hearth-client.js";

/** The Builder instance (the operator's workspace) the pages use; the server's WORKSPACE. */
export const WORKSPACE = "main";

/** The AgentClient options of the operator's Builder. */
export function builderAddress() {
  return { agent: "Builder", name: WORKSPACE };
}

/**
 * The address of a customer's agent: the sub-agent `CustomerAgent/<customer>` of the Builder,
 * reached through it (`/agents/builder/main/sub/customer-agent/<customer>`), so the Builder's
 * `onBeforeSubAgent` sees every connection and request first.
 */
export function customerAddress(customer) {
  return { ...builderAddress(), sub: [{ agent: "CustomerAgent", name: customer }] };
}

/** The HTTP URL of `path` (e.g. "get-messages") on a customer's agent. */
export function customerUrl(customer, path) {
  return agentUrl({ host: location.origin, ...customerAddress(customer), path });
}
