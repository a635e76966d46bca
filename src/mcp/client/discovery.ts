/**
 * Discovery: a server's tools, prompts and resources, page by page, within the `maxListItems` and
 * `maxCatalogBytes` limits and {@link MAX_LIST_PAGES} pages per listing; a cursor sent twice ends
 * discovery with an error. Malformed entries are dropped, duplicates keep their first definition.
 */
import type { Client } from "@modelcontextprotocol/client";
import { McpClientError, clip } from "./errors.ts";
import { MAX_LIST_PAGES, type McpClientLimits } from "./limits.ts";
import type { Catalog } from "./store.ts";
import type { Prompt, Resource, Tool } from "./types.ts";

/** Who is being discovered, for limits and messages. */
export interface DiscoveryTarget {
  readonly label: string;
  readonly serverId: string;
  readonly limits: McpClientLimits;
}

type ListMethod = "tools/list" | "prompts/list" | "resources/list";
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
  const list = async <T extends { name: string }>(kind: "tools" | "prompts" | "resources", method: ListMethod, key: (item: T) => string) => {
    const items: T[] = [];
    if (!capabilities?.[kind]) return items;
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
        page = (await client.request({ method, params: cursor === undefined ? {} : { cursor } }, request)) as unknown as Record<string, unknown>;
      } catch (error) {
        // A capability advertised but not implemented: nothing to list.
        if ((error as { code?: unknown }).code === METHOD_NOT_FOUND) return items;
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
        if (!isNamed(entry) || (kind === "resources" && typeof (entry as { uri?: unknown }).uri !== "string")) continue;
        const id = key(entry as T);
        if (seen.has(id)) continue;
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
  const tools = await list<Tool>("tools", "tools/list", (tool) => tool.name);
  const prompts = await list<Prompt>("prompts", "prompts/list", (prompt) => prompt.name);
  const resources = await list<Resource>("resources", "resources/list", (resource) => resource.uri);
  return { tools, prompts, resources, instructions: client.getInstructions() ?? null, capabilities, transport };
}

function isNamed(entry: unknown): boolean {
  return typeof entry === "object" && entry !== null && typeof (entry as { name?: unknown }).name === "string" && (entry as { name: string }).name.length > 0;
}
