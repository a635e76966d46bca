/**
 * Discovery: a server's tools, prompts, resources and resource templates, page by page, within the
 * `maxListItems` and `maxCatalogBytes` limits and {@link MAX_LIST_PAGES} pages per listing; a cursor
 * sent twice ends discovery with an error. Malformed entries are dropped, duplicates keep their first
 * definition. An entry nested deeper than {@link MAX_MCP_JSON_DEPTH} levels (a tool's schema, say)
 * fails discovery naming it, before the SDK's recursive validation could overflow the stack.
 */
import type { Client, StandardSchemaV1 } from "@modelcontextprotocol/client";
import { MAX_MCP_JSON_DEPTH } from "../server/json-body.ts";
import { McpClientError, clip } from "./errors.ts";
import { MAX_LIST_PAGES, type McpClientLimits } from "./limits.ts";
import { loadedModules } from "./modules.ts";
import type { Catalog } from "./store.ts";
import type { Prompt, Resource, ResourceTemplate, Tool } from "./types.ts";

/** Who is being discovered, for limits and messages. */
export interface DiscoveryTarget {
  readonly label: string;
  readonly serverId: string;
  readonly limits: McpClientLimits;
}

/** Each listing: its method, the key of its entries, the capability that offers it, the SDK's result schema. */
const LISTINGS = {
  tools: { method: "tools/list", capability: "tools", result: "ListToolsResult" },
  prompts: { method: "prompts/list", capability: "prompts", result: "ListPromptsResult" },
  resources: { method: "resources/list", capability: "resources", result: "ListResourcesResult" },
  resourceTemplates: { method: "resources/templates/list", capability: "resources", result: "ListResourceTemplatesResult" },
} as const;
type Kind = keyof typeof LISTINGS;
/** How an entry of each kind is named in messages. */
const ENTRY_NAMES: Record<Kind, string> = { tools: "tool", prompts: "prompt", resources: "resource", resourceTemplates: "resource template" };
const METHOD_NOT_FOUND = -32601;

/**
 * Lists everything the server advertises (per its capabilities).
 * @example
 * const catalog = await discoverCatalog(client, connection, "streamable-http", { signal, timeout: 15_000 });
 */
export async function discoverCatalog(
  client: Client,
  target: DiscoveryTarget,
  transport: Catalog["transport"],
  request: { signal: AbortSignal; timeout: number },
): Promise<Catalog> {
  const capabilities = client.getServerCapabilities() ?? null;
  let bytes = 0;
  const list = async <T extends { name: string }>(kind: Kind, key: (item: T) => string | undefined) => {
    const { method, capability } = LISTINGS[kind];
    const items: T[] = [];
    if (!capabilities?.[capability]) return items;
    const seen = new Set<string>();
    const cursors = new Set<string>();
    let cursor: string | undefined;
    do {
      if (cursors.size >= MAX_LIST_PAGES) {
        throw new McpClientError("limit", `${target.label} lists its ${kind} in more than ${MAX_LIST_PAGES} pages (MAX_LIST_PAGES)`, {
          serverId: target.serverId,
        });
      }
      let page: Record<string, unknown>;
      try {
        const params = cursor === undefined ? {} : { cursor };
        page = (await client.request({ method, params }, depthCheckedResult(kind, target), request)) as Record<string, unknown>;
      } catch (error) {
        // A capability advertised but not implemented: nothing to list. Templates came later than
        // resources: a server that answers their listing with any JSON-RPC error has none.
        if ((error as { code?: unknown }).code === METHOD_NOT_FOUND) return items;
        if (kind === "resourceTemplates" && error instanceof loadedModules()!.sdk.ProtocolError) return items;
        throw error;
      }
      const entries = Array.isArray(page[kind]) ? (page[kind] as unknown[]) : [];
      bytes += Buffer.byteLength(JSON.stringify(entries));
      if (bytes > target.limits.maxCatalogBytes) {
        throw new McpClientError("limit", `${target.label} lists more than ${target.limits.maxCatalogBytes} bytes of tools, prompts and resources (maxCatalogBytes)`, {
          serverId: target.serverId,
        });
      }
      for (const entry of entries) {
        if (!isNamed(entry)) continue;
        const id = key(entry as T);
        if (typeof id !== "string" || seen.has(id)) continue;
        seen.add(id);
        items.push(entry as T);
        if (items.length > target.limits.maxListItems) {
          throw new McpClientError("limit", `${target.label} lists more than ${target.limits.maxListItems} ${kind} (maxListItems)`, {
            serverId: target.serverId,
          });
        }
      }
      const next = page.nextCursor;
      cursor = typeof next === "string" && next.length > 0 ? next : undefined;
      if (cursor !== undefined && cursors.has(cursor)) {
        throw new McpClientError("protocol", `${target.label} sent the ${method} cursor ${JSON.stringify(clip(cursor, 100))} a second time; its listing never ends`, {
          serverId: target.serverId,
        });
      }
      if (cursor !== undefined) cursors.add(cursor);
    } while (cursor !== undefined);
    return items;
  };
  const tools = await list<Tool>("tools", (tool) => tool.name);
  const prompts = await list<Prompt>("prompts", (prompt) => prompt.name);
  const resources = await list<Resource>("resources", (resource) => resource.uri);
  const resourceTemplates = await list<ResourceTemplate>("resourceTemplates", (template) => template.uriTemplate);
  return { tools, prompts, resources, resourceTemplates, instructions: client.getInstructions() ?? null, capabilities, transport };
}

/**
 * The result schema of one listing: its entries' nesting is checked first (iteratively), then the
 * SDK's own schema validates the page.
 */
function depthCheckedResult(kind: Kind, target: DiscoveryTarget): StandardSchemaV1 {
  const schema = loadedModules()!.sdk.specTypeSchemas[LISTINGS[kind].result];
  return {
    "~standard": {
      version: 1,
      vendor: "hearth",
      validate: (value: unknown) => {
        const entries = (value as Record<string, unknown> | null)?.[kind];
        for (const entry of Array.isArray(entries) ? entries : []) {
          if (!parsedNestsDeeperThan(entry, MAX_MCP_JSON_DEPTH)) continue;
          const name = (entry as { name?: unknown } | null)?.name;
          const which = typeof name === "string" ? ` ${JSON.stringify(clip(name, 100))}` : "";
          throw new McpClientError(
            "limit",
            `${target.label} lists a ${ENTRY_NAMES[kind]}${which} nested more than ${MAX_MCP_JSON_DEPTH} levels deep (MAX_MCP_JSON_DEPTH)`,
            { serverId: target.serverId },
          );
        }
        if (parsedNestsDeeperThan({ ...(value as object), [kind]: [] }, MAX_MCP_JSON_DEPTH)) {
          throw new McpClientError("limit", `${target.label} answered ${LISTINGS[kind].method} nested more than ${MAX_MCP_JSON_DEPTH} levels deep (MAX_MCP_JSON_DEPTH)`, {
            serverId: target.serverId,
          });
        }
        return schema["~standard"].validate(value);
      },
    },
  };
}

/** True when arrays and objects in `value` nest more than `max` levels (walked without recursion). */
function parsedNestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== "object" || current === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(current)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function isNamed(entry: unknown): boolean {
  return typeof entry === "object" && entry !== null && typeof (entry as { name?: unknown }).name === "string" && (entry as { name: string }).name.length > 0;
}
