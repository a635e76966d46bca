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

/**
 * The routed view. A view showing one thing (an instance, a run, a trace) is keyed by what it shows:
 * moving to another one starts afresh, with nothing typed, ticked or paged carried over.
 */
export function Routed() {
  const { segments, query } = route.value;
  const [section = "", a, b, c, d] = segments;
  switch (section) {
    case "":
      return <OverviewView />;
    case "agents":
      if (a !== undefined && b !== undefined) {
        const sub = query.get("sub") ?? undefined;
        return <InstanceView key={keyOf(a, b, sub)} agent={{ class: a, name: b, sub }} tab={c ?? "state"} />;
      }
      return <AgentsView agentClass={a} query={query} />;
    case "workflows":
      if (a !== undefined && b !== undefined) return <WorkflowView key={keyOf(a, b)} workflow={a} id={b} />;
      return <WorkflowsView query={query} />;
    case "team-runs":
      if (a !== undefined && b !== undefined && c !== undefined) {
        const sub = query.get("sub") ?? undefined;
        return <TeamRunView key={keyOf(a, b, c, sub)} agentClass={a} name={b} runId={c} sub={sub} />;
      }
      return <TeamRunsView query={query} />;
    case "traces":
      if (a !== undefined) return <TraceView key={a} traceId={a} spanId={query.get("span") ?? d} view={query.get("view")} />;
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

/** One key for the parts that name what a view shows (JSON: no two lists of names give the same key). */
function keyOf(...parts: Array<string | undefined>): string {
  return JSON.stringify(parts);
}
