// Where the pages find the agents. The one place a customer's address is made: the customer's page
// and the operator's page both go through here.

/** The Builder instance (the operator's workspace) the pages use; the server's WORKSPACE. */
export const WORKSPACE = "main";

/** The URL path of a customer's agent, a sub-agent of the Builder, plus `leaf` (e.g. "/get-messages"). */
export function customerPath(customer, leaf = "") {
  return `/agents/builder/${encodeURIComponent(WORKSPACE)}/sub/customer-agent/${encodeURIComponent(customer)}${leaf}`;
}

/**
 * The AgentClient options that reach a customer's agent. With the `sub` option of `hearth/client`
 * this is `{ agent: "Builder", name: WORKSPACE, sub: [{ agent: "CustomerAgent", name: customer }] }`;
 * the path form below reaches the same agent through the same route.
 */
export function customerAddress(customer) {
  return { agent: "CustomerAgent", name: customer, basePath: customerPath(customer) };
}

/** The AgentClient options of the operator's Builder. */
export function builderAddress() {
  return { agent: "Builder", name: WORKSPACE };
}
