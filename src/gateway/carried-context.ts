/**
 * Values a feature attaches to a Request object in-process (the MCP endpoint's parsed body, verified
 * identity and session) that must still be there when a cluster node forwards the request to the node
 * holding its agent. Features register how to read and re-attach theirs; forwarding carries them in
 * one header that only requests between nodes (under the cluster key) may set.
 */
interface Carrier {
  read(request: Request): unknown;
  attach(request: Request, value: unknown): void;
}

const carriers = new Map<string, Carrier>();

/**
 * Registers a value that rides along when a request is forwarded to another node (structured clone).
 * @example
 * carryAcrossNodes("mcp", mcpContextOf, (request, value) => attachMcpContext(request, value as McpRequestContext));
 */
export function carryAcrossNodes(name: string, read: (request: Request) => unknown, attach: (request: Request, value: unknown) => void): void {
  carriers.set(name, { read, attach });
}

/** Every registered value attached to `request` (undefined when none is). */
export function carriedValues(request: Request): Record<string, unknown> | undefined {
  let values: Record<string, unknown> | undefined;
  for (const [name, carrier] of carriers) {
    const value = carrier.read(request);
    if (value !== undefined) (values ??= {})[name] = value;
  }
  return values;
}

/** Attaches values read by {@link carriedValues} on another node to this node's copy of the request. */
export function attachCarried(request: Request, values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) carriers.get(name)?.attach(request, value);
}
