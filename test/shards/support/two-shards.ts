/**
 * Two shards in this thread, linked by a MessageChannel, over one data directory: each a Host with
 * its own state dir and `env.HOST` = `shard-<index>`, and a server routing through its shard.
 */
import { join } from "node:path";
import { MessageChannel } from "node:worker_threads";
import { Host, serve, type HearthServer } from "../../../src/index.ts";
import { shardOf } from "../../../src/shards/placement.ts";
import { Shard } from "../../../src/shards/shard.ts";

export interface ShardNode {
  host: Host;
  shard: Shard;
  server: HearthServer;
}

type HostOptions = ConstructorParameters<typeof Host>[0];
type ServeOptions = Parameters<typeof serve>[0];
/** A worker's fetch, as the shard's router and handler take it. */
type ShardFetch = (request: Request, env: Record<string, unknown>) => Promise<Response>;

/**
 * Starts both shards.
 * @example const nodes = await startTwoShards(dir, { agents: { Room } }, agentsOnlyFetch);
 */
export async function startTwoShards(
  dataDir: string,
  hostOptions: Omit<HostOptions, "dataDir" | "vars" | "placement" | "stateDir">,
  fetch: ShardFetch,
  serveOptions: Omit<ServeOptions, "host" | "port" | "fetch" | "handOff"> = {},
): Promise<[ShardNode, ShardNode]> {
  const { port1, port2 } = new MessageChannel();
  const nodes: ShardNode[] = [];
  for (const [index, port] of [[0, port1], [1, port2]] as const) {
    const shard = new Shard({ index, count: 2, ports: new Map([[1 - index, port]]) });
    const host = new Host({ ...hostOptions, dataDir, vars: { HOST: `shard-${index}` }, placement: shard, stateDir: join(dataDir, "shards", `${index}`) });
    shard.attach(host, (request) => fetch(request, host.env));
    const server = await serve({ ...serveOptions, host, port: 0, fetch: shard.route(fetch), handOff: shard.handOff() });
    shard.answerWith(server.url, server.answer, server.adopt);
    nodes.push({ host, shard, server });
  }
  return nodes as [ShardNode, ShardNode];
}

/** Closes what {@link startTwoShards} started (servers, hosts, shards). */
export async function closeTwoShards(nodes: readonly ShardNode[]): Promise<void> {
  for (const node of nodes) {
    await node.server.close();
    await node.host.close();
    node.shard.close();
  }
}

/** A name of class `classSlug` that shard `index` of two owns. */
export function nameOn(classSlug: string, index: number, prefix = "n"): string {
  for (let i = 0; ; i++) if (shardOf(classSlug, `${prefix}${i}`, 2) === index) return `${prefix}${i}`;
}
