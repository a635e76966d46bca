import type { Host } from "../platform/host.ts";
import { encodeCursor } from "../host/catalog.ts";
import type { ClusterAgentRow, ClusterNodeInfo, ForwardedAnswer, ForwardedDispatch, ForwardedRequest, InspectorCluster, InspectorTarget } from "../inspector/cluster.ts";
import type { RelayedMessage, StreamRelay } from "../inspector/stream.ts";
import { shardOf } from "./placement.ts";
import { SERVICE_HOLDER, type Shard } from "./shard.ts";

/** The service kind every thread serves to the inspector: forwarded requests, its catalog's pages and counts. */
export const INSPECTOR_SERVICE = "~inspector";

/** A thread's page of the agent list, as the inspector's merge needs it. */
interface ThreadPage {
  items: Array<ClusterAgentRow & { slug: string }>;
  more: boolean;
}

/** The inspector's view of the threads of one process, and this thread's side of it. */
export interface ThreadInspectorView extends InspectorCluster {
  /**
   * Where requests forwarded to this thread run (its inspector, or a peer's; until then they are
   * refused), and where its live messages come from while the first thread's stream is watched.
   */
  attach(dispatch: ForwardedDispatch | undefined, watch?: StreamRelay["watch"]): void;
  readonly relay: StreamRelay;
}

/** The name a thread goes by in the inspector (its "node"). */
export function threadNodeId(index: number): string {
  return `thread-${index}`;
}

/**
 * The threads of `hearth start --threads N` as the inspector's cluster: each thread is a node, so the
 * inspector on the first thread lists every thread's agents, answers about an agent on the thread
 * that runs it, and gathers traces, logs, workflows and team runs from all of them — the merging the
 * cluster's inspector already does, over the links between threads instead of HTTP. Every thread
 * makes one (it serves {@link INSPECTOR_SERVICE}); the first thread's inspector joins it.
 * @example
 * const view = threadInspectorView(shard, host);
 * view.attach(inspector.joinCluster(view)); // the first thread, whose inspector listens
 * // every other thread:
 * const peer = startInspectorPeer({ host, stateDir });
 * view.attach(peer.joinCluster(view), (deliver) => peer.watch(deliver));
 */
export function threadInspectorView(shard: Pick<Shard, "index" | "count" | "serve" | "callShard">, host: Pick<Host, "storageSlugOf" | "catalog">): ThreadInspectorView {
  let dispatch: ForwardedDispatch | undefined;
  /** This thread's own live messages, and what stops sending them to the watching thread. */
  let watchHere: StreamRelay["watch"] | undefined;
  let stopSending: (() => void) | undefined;
  /** On the watching thread: where the others' messages go while its stream is subscribed. */
  let sink: ((messages: readonly RelayedMessage[]) => void) | undefined;
  const ignore = (): void => undefined;
  const nodeId = threadNodeId(shard.index);
  const slugOf = (className: string): string | undefined => {
    try {
      return host.storageSlugOf(className);
    } catch {
      return undefined; // not a class of this project: answered here, as a 404
    }
  };

  shard.serve(INSPECTOR_SERVICE, {
    invoke(_name, method, args) {
      switch (method) {
        case "dispatch":
          if (dispatch === undefined) throw new Error(`The inspector is not running on ${nodeId}`);
          return dispatch(args[0] as ForwardedRequest);
        case "agents":
          return agentsHere(args[0] as Parameters<InspectorCluster["listAgents"]>[0]);
        case "countByClass":
          return host.catalog.countByClass();
        case "watch": {
          // Thread `args[0]`'s stream is watched: this thread's events, logs and spans go there, a batch per turn.
          const watcher = args[0] as number;
          stopSending?.();
          stopSending = watchHere?.((messages) => void shard.callShard(watcher, INSPECTOR_SERVICE, "", "relayed", [messages]).catch(ignore));
          return undefined;
        }
        case "unwatch":
          stopSending?.();
          stopSending = undefined;
          return undefined;
        case "relayed":
          sink?.(args[0] as RelayedMessage[]);
          return undefined;
        default:
          throw new Error(`Unknown inspector operation ${JSON.stringify(method)}`);
      }
    },
  });

  /** This thread's page: its catalog lists exactly the agents this thread owns. */
  const agentsHere = (query: Parameters<InspectorCluster["listAgents"]>[0]): ThreadPage => {
    if (query.class !== undefined && slugOf(query.class) === undefined) return { items: [], more: false };
    const page = host.catalog.list({
      ...(query.class !== undefined ? { class: query.class } : {}),
      ...(query.q !== undefined ? { q: query.q } : {}),
      ...(query.after ? { cursor: encodeCursor(query.after[0], query.after[1]) } : {}),
      limit: query.limit,
    });
    return {
      items: page.items.map((item) => ({ class: item.class, name: item.name, slug: slugOf(item.class) ?? item.class, node: nodeId, nextAlarmAt: null })),
      more: page.next !== null,
    };
  };
  const threads = Array.from({ length: shard.count }, (_, index) => index);
  const indexOf = (id: string): number => {
    const index = threads.find((thread) => threadNodeId(thread) === id);
    if (index === undefined) throw new Error(`No thread ${JSON.stringify(id)}`);
    return index;
  };

  return {
    nodeId,
    attach(next, watch) {
      dispatch = next;
      watchHere = watch;
    },
    relay: {
      watch(deliver) {
        sink = deliver;
        const others = threads.filter((thread) => thread !== shard.index);
        for (const thread of others) void shard.callShard(thread, INSPECTOR_SERVICE, "", "watch", [shard.index]).catch(ignore);
        return () => {
          sink = undefined;
          for (const thread of others) void shard.callShard(thread, INSPECTOR_SERVICE, "", "unwatch", []).catch(ignore);
        };
      },
    },
    async agentTarget(className, name): Promise<InspectorTarget> {
      const slug = slugOf(className);
      const owner = slug === undefined ? shard.index : shardOf(slug, name, shard.count);
      return owner === shard.index ? { local: true } : { local: false, nodeId: threadNodeId(owner) };
    },
    async workflowTarget(): Promise<InspectorTarget> {
      return shard.index === SERVICE_HOLDER ? { local: true } : { local: false, nodeId: threadNodeId(SERVICE_HOLDER) };
    },
    forget() {
      // Placement by hashing never changes while the process runs: nothing to look up again.
    },
    async listAgents(query) {
      const pages = await Promise.all(threads.map((thread) => shard.callShard(thread, INSPECTOR_SERVICE, "", "agents", [query]) as Promise<ThreadPage>));
      const merged = pages.flatMap((page) => page.items).sort((a, b) => compare(a.slug, b.slug) || compare(a.name, b.name));
      return { items: merged.slice(0, query.limit), more: merged.length > query.limit || pages.some((page) => page.more) };
    },
    async countByClass() {
      const counts = await Promise.all(threads.map((thread) => shard.callShard(thread, INSPECTOR_SERVICE, "", "countByClass", []) as Promise<Array<{ class: string; total: number }>>));
      const totals = new Map<string, number>();
      for (const { class: className, total } of counts.flat()) totals.set(className, (totals.get(className) ?? 0) + total);
      return [...totals].map(([className, total]) => ({ class: className, total })).sort((a, b) => a.class.localeCompare(b.class));
    },
    async nodes(): Promise<ClusterNodeInfo[]> {
      return threads.map((thread) => ({ nodeId: threadNodeId(thread), state: "alive" }));
    },
    send(id, request, timeoutMs): Promise<ForwardedAnswer> {
      const answer = shard.callShard(indexOf(id), INSPECTOR_SERVICE, "", "dispatch", [request]) as Promise<ForwardedAnswer>;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${id} did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/** The catalog's order: SQLite's binary collation, which orders text by its UTF-8 bytes. */
function compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
