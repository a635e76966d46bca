import { agentPath } from "../client/url.ts";

/** One agent in a root-first address. */
export interface AgentPathStep {
  /** The class's binding name, e.g. "ChatThread". */
  className: string;
  /** The instance name. */
  name: string;
}

export interface BuildAgentPathOptions {
  /** First path segment(s). Default "agents". */
  prefix?: string;
  /** Appended after the last agent's address, e.g. "/messages". */
  leafPath?: string;
  /** The root's binding name when it differs from its class name. */
  rootBinding?: string;
}

/**
 * The URL path of a root agent or a nested sub-agent (root first; `this.selfPath` fits).
 * @example
 * buildAgentPath([{ className: "Inbox", name: "ada" }, { className: "Thread", name: "t1" }]);
 * // "/agents/inbox/ada/sub/thread/t1"
 */
export function buildAgentPath(path: ReadonlyArray<AgentPathStep>, options: BuildAgentPathOptions = {}): string {
  if (path.length === 0) throw new TypeError("buildAgentPath: the path needs at least the root agent");
  const [root, ...children] = path;
  const sub = children.map((step) => ({ agent: step.className, name: step.name }));
  // One builder for server and client, so the URLs a server hands out are the ones clients build.
  return agentPath({ prefix: options.prefix ?? "agents", agent: options.rootBinding ?? root!.className, name: root!.name, sub }) + (options.leafPath ?? "");
}

/** An absolute URL for {@link buildAgentPath} (http, https, ws or wss origins). */
export function buildAgentUrl(origin: string | URL, path: ReadonlyArray<AgentPathStep>, options?: BuildAgentPathOptions): URL {
  return new URL(buildAgentPath(path, options), origin);
}
