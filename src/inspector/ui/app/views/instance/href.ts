import type { AgentRef } from "../../api.ts";
import { href } from "../../router.ts";

/** A link to an instance's tab, keeping the sub-agent path. */
export function instanceHref(agent: AgentRef, tab: string, query: Record<string, string | undefined> = {}): string {
  return href(["agents", agent.class, agent.name, tab], { sub: agent.sub, ...query });
}
