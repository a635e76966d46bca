/** Which view a URL shows. Heavy views (charts) load their own chunk on first use. */
import { lazy } from "./components/lazy.tsx";
import { AgentsView } from "./views/agents.tsx";
import { AlertsView } from "./views/alerts.tsx";
import { AuditView } from "./views/audit.tsx";
import { InstanceView } from "./views/instance.tsx";
import { LogsView } from "./views/logs.tsx";
import { OverviewView } from "./views/overview.tsx";
import { TeamRunView, TeamRunsView } from "./views/team-runs.tsx";
import { TraceView } from "./views/trace.tsx";
import { TracesView } from "./views/traces.tsx";
import { WorkflowView } from "./views/workflow.tsx";
import { WorkflowsView } from "./views/workflows.tsx";
import { route } from "./router.ts";

const MetricsView = lazy(() => import("./views/metrics.tsx"));

export function Routed() {
  const { segments, query } = route.value;
  const [section = "", a, b, c, d] = segments;
  switch (section) {
    case "":
      return <OverviewView />;
    case "agents":
      if (a !== undefined && b !== undefined)
        return <InstanceView agent={{ class: a, name: b, sub: query.get("sub") ?? undefined }} tab={c ?? "state"} />;
      return <AgentsView agentClass={a} query={query} />;
    case "workflows":
      if (a !== undefined && b !== undefined) return <WorkflowView workflow={a} id={b} />;
      return <WorkflowsView query={query} />;
    case "team-runs":
      if (a !== undefined && b !== undefined && c !== undefined)
        return <TeamRunView agentClass={a} name={b} runId={c} sub={query.get("sub") ?? undefined} />;
      return <TeamRunsView query={query} />;
    case "traces":
      if (a !== undefined) return <TraceView traceId={a} spanId={query.get("span") ?? d} view={query.get("view")} />;
      return <TracesView query={query} />;
    case "logs":
      return <LogsView query={query} />;
    case "metrics":
      return <MetricsView query={query} />;
    case "alerts":
      return <AlertsView />;
    case "audit":
      return <AuditView />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            Nothing lives at this address. <a href="#/">Go to the overview</a>.
          </p>
        </section>
      );
  }
}
