/** One agent instance: a header and its tabs, each at its own URL. */
import { agentPath, subLabel, type AgentRef } from "../api.ts";
import { TabLinks, type TabLink } from "../components/tabs.tsx";
import { Loaded } from "../components/status.tsx";
import { NodeBadge } from "../components/cluster.tsx";
import { bytes, num, time } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href } from "../router.ts";
import { ChatTab } from "./instance/chat.tsx";
import { instanceHref } from "./instance/href.ts";
import { ChildrenTab } from "./instance/children.tsx";
import { ConnectionsTab } from "./instance/connections.tsx";
import { LiveTab } from "./instance/live.tsx";
import { McpTab } from "./instance/mcp.tsx";
import { MethodsTab } from "./instance/methods.tsx";
import { SchedulesTab } from "./instance/schedules.tsx";
import { SqlTab } from "./instance/sql.tsx";
import { StateTab } from "./instance/state.tsx";

type Feature = "state" | "sql" | "chat" | "mcp" | "schedules" | "workflows" | "sub-agents" | "team-runs";

interface Instance {
  class: string;
  name: string;
  live: boolean;
  sockets: number;
  sizeBytes: number | null;
  nextAlarmAt: number | null;
  features: Feature[];
  /** On a cluster node: the node that holds it (and answered). */
  node?: string;
}

const TABS: { id: string; label: string; needs?: Feature }[] = [
  { id: "state", label: "State" },
  { id: "sql", label: "SQL", needs: "sql" },
  { id: "connections", label: "Connections" },
  { id: "methods", label: "Methods" },
  { id: "schedules", label: "Schedules & queue" },
  { id: "chat", label: "Chat", needs: "chat" },
  { id: "mcp", label: "MCP", needs: "mcp" },
  { id: "children", label: "Sub-agents & facets" },
  { id: "live", label: "Events & logs" },
];

export function InstanceView({ agent, tab }: { agent: AgentRef; tab: string }) {
  const info = useApi<Instance>(agentPath(agent));
  const title = agent.sub === undefined ? `${agent.class}/${agent.name}` : `${agent.class}/${agent.name} › ${subLabel(agent.sub)}`;
  return (
    <section>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href(["agents"])}>Agents</a> › <a href={href(["agents", agent.class])}>{agent.class}</a> ›{" "}
        {agent.sub === undefined ? (
          <span aria-current="page">{agent.name}</span>
        ) : (
          <>
            <a href={href(["agents", agent.class, agent.name])}>{agent.name}</a> ›{" "}
            <span aria-current="page">{subLabel(agent.sub)}</span>
          </>
        )}
      </nav>
      <h1>{title}</h1>
      <Loaded resource={info}>
        {(data) => {
          const tabs: TabLink[] = TABS.filter((t) => t.needs === undefined || data.features.includes(t.needs)).map(
            (t) => ({ id: t.id, label: t.label, href: instanceHref(agent, t.id) }),
          );
          return (
            <>
              <p class="muted">
                {data.live ? "Live" : "Hibernated"} · {num(data.sockets)} WebSockets · {bytes(data.sizeBytes)} · next
                alarm {time(data.nextAlarmAt)}
                {data.node !== undefined && (
                  <>
                    {" "}
                    · node <NodeBadge node={data.node} />
                  </>
                )}
              </p>
              <TabLinks tabs={tabs} current={tab} label="Instance tabs" />
              <div class="tab-panel">
                <Tab agent={agent} tab={tab} features={data.features} />
              </div>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function Tab({ agent, tab, features }: { agent: AgentRef; tab: string; features: Feature[] }) {
  switch (tab) {
    case "sql":
      return <SqlTab agent={agent} />;
    case "connections":
      return <ConnectionsTab agent={agent} />;
    case "methods":
      return <MethodsTab agent={agent} />;
    case "schedules":
      return <SchedulesTab agent={agent} />;
    case "chat":
      return <ChatTab agent={agent} />;
    case "mcp":
      return <McpTab agent={agent} />;
    case "children":
      return <ChildrenTab agent={agent} teamRuns={features.includes("team-runs")} />;
    case "live":
      return <LiveTab agent={agent} />;
    default:
      return <StateTab agent={agent} />;
  }
}
