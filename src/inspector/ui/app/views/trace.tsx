/** One trace: tree and waterfall views, the selected span's details with GenAI facts. */
import { JsonView } from "../components/json-view.tsx";
import { TabLinks } from "../components/tabs.tsx";
import { Loaded } from "../components/status.tsx";
import { duration, num, time, usd } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href } from "../router.ts";
import { buildTree, flatten, genAi, isError, spanAgent, type Span, type SpanNode } from "./trace-model.ts";

export function TraceView({ traceId, spanId, view }: { traceId: string; spanId: string | undefined; view: string | null }) {
  const trace = useApi<{ traceId: string; spans: Span[] }>(`/api/traces/${encodeURIComponent(traceId)}`);
  const current = view === "waterfall" ? "waterfall" : "tree";
  const link = (query: { span?: string; view?: string }) =>
    href(["traces", traceId], { span: query.span ?? spanId, view: query.view ?? (current === "tree" ? undefined : current) });
  return (
    <section>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href(["traces"])}>Traces</a> › <span aria-current="page" class="mono">{traceId}</span>
      </nav>
      <h1>Trace</h1>
      <p>
        <a href={href(["logs"], { traceId })}>Logs of this trace</a>
      </p>
      <Loaded resource={trace}>
        {(data) => {
          const roots = buildTree(data.spans);
          const all = flatten(roots);
          const selected = all.find((n) => n.span.spanId === spanId)?.span ?? all.find((n) => isError(n.span))?.span ?? all[0]?.span;
          return (
            <>
              <TabLinks
                label="Trace views"
                current={current}
                tabs={[
                  { id: "tree", label: "Tree", href: link({ view: "tree" }) },
                  { id: "waterfall", label: "Waterfall", href: link({ view: "waterfall" }) },
                ]}
              />
              <div class="split">
                <div class="split-main">
                  {current === "tree" ? (
                    <ul class="span-tree" aria-label="Spans">
                      {roots.map((n) => (
                        <TreeNode key={n.span.spanId} node={n} selected={selected?.spanId} link={link} />
                      ))}
                    </ul>
                  ) : (
                    <Waterfall nodes={all} selected={selected?.spanId} link={link} />
                  )}
                </div>
                <div class="split-side wide">{selected !== undefined && <SpanDetail span={selected} />}</div>
              </div>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

type LinkFn = (query: { span?: string; view?: string }) => string;

function SpanLabel({ span }: { span: Span }) {
  const ai = genAi(span);
  return (
    <>
      <span class={isError(span) ? "error-text" : undefined}>{span.name}</span>{" "}
      <span class="muted small">
        {duration(span.endedAt - span.startedAt)}
        {ai?.model !== undefined && ` · ${ai.model}`}
        {ai?.inputTokens !== undefined && ` · ${num((ai.inputTokens ?? 0) + (ai.outputTokens ?? 0))} tokens`}
        {isError(span) && " · error"}
      </span>
    </>
  );
}

function TreeNode({ node, selected, link }: { node: SpanNode; selected: string | undefined; link: LinkFn }) {
  return (
    <li>
      <a href={link({ span: node.span.spanId })} aria-current={node.span.spanId === selected ? "true" : undefined}>
        <SpanLabel span={node.span} />
      </a>
      {node.children.length > 0 && (
        <ul>
          {node.children.map((c) => (
            <TreeNode key={c.span.spanId} node={c} selected={selected} link={link} />
          ))}
        </ul>
      )}
    </li>
  );
}

function Waterfall({ nodes, selected, link }: { nodes: SpanNode[]; selected: string | undefined; link: LinkFn }) {
  const start = Math.min(...nodes.map((n) => n.span.startedAt));
  const total = Math.max(1, Math.max(...nodes.map((n) => n.span.endedAt)) - start);
  return (
    <ol class="waterfall" aria-label="Spans on a time axis">
      {nodes.map((n) => {
        const left = ((n.span.startedAt - start) / total) * 100;
        const width = Math.max(0.5, ((n.span.endedAt - n.span.startedAt) / total) * 100);
        return (
          <li key={n.span.spanId} class={isError(n.span) ? "step-errored" : undefined}>
            <a
              href={link({ span: n.span.spanId })}
              aria-current={n.span.spanId === selected ? "true" : undefined}
              class="waterfall-label"
              ref={(el) => {
                if (el !== null) el.style.paddingLeft = `${n.depth}em`;
              }}
            >
              <SpanLabel span={n.span} />
            </a>
            <span class="bar-track" aria-hidden="true">
              <span
                class="bar"
                ref={(el) => {
                  if (el !== null) {
                    el.style.marginLeft = `${left}%`;
                    el.style.width = `${Math.min(width, 100 - left)}%`;
                  }
                }}
              />
            </span>
          </li>
        );
      })}
    </ol>
  );
}

function SpanDetail({ span }: { span: Span }) {
  const ai = genAi(span);
  const agent = spanAgent(span);
  return (
    <div class="card" aria-label="Selected span">
      <h2>{span.name}</h2>
      <dl class="facts">
        <dt>Started</dt>
        <dd>{time(span.startedAt)}</dd>
        <dt>Duration</dt>
        <dd>{duration(span.endedAt - span.startedAt)}</dd>
        <dt>Status</dt>
        <dd class={isError(span) ? "error-text" : undefined}>
          {statusName(span.status.code)}
          {span.status.message !== undefined && `: ${span.status.message}`}
        </dd>
        {agent !== undefined && (
          <>
            <dt>Agent</dt>
            <dd>
              <a href={href(["agents", agent.class, agent.name])}>
                {agent.class}/{agent.name}
              </a>
            </dd>
          </>
        )}
        {ai?.operation !== undefined && (<><dt>Operation</dt><dd>{ai.operation}</dd></>)}
        {ai?.model !== undefined && (<><dt>Model</dt><dd>{ai.model}</dd></>)}
        {ai?.inputTokens !== undefined && (<><dt>Input tokens</dt><dd>{num(ai.inputTokens)}</dd></>)}
        {ai?.outputTokens !== undefined && (<><dt>Output tokens</dt><dd>{num(ai.outputTokens)}</dd></>)}
        {ai?.cacheReadTokens !== undefined && (<><dt>Cached input tokens</dt><dd>{num(ai.cacheReadTokens)}</dd></>)}
        {ai?.reasoningTokens !== undefined && (<><dt>Reasoning tokens</dt><dd>{num(ai.reasoningTokens)}</dd></>)}
        {ai?.firstChunkSeconds !== undefined && (<><dt>First chunk after</dt><dd>{duration(ai.firstChunkSeconds * 1000)}</dd></>)}
        {ai?.finishReasons !== undefined && (<><dt>Finish reasons</dt><dd>{String(ai.finishReasons)}</dd></>)}
        {ai?.costUsd !== undefined && (<><dt>Cost</dt><dd>{usd(ai.costUsd)}</dd></>)}
        {ai?.tool !== undefined && (<><dt>Tool</dt><dd class="mono">{ai.tool}</dd></>)}
        {ai?.conversation !== undefined && (
          <>
            <dt>Conversation</dt>
            <dd>
              <a href={href(["traces"], { conversation: ai.conversation })}>{ai.conversation}</a>
            </dd>
          </>
        )}
      </dl>
      <h3>Attributes</h3>
      <JsonView value={span.attributes} label="Span attributes" />
      {span.events.length > 0 && (
        <>
          <h3>Events</h3>
          <JsonView value={span.events} label="Span events" />
        </>
      )}
    </div>
  );
}

/** OpenTelemetry's status codes by name. */
function statusName(code: string | number): string {
  return code === 0 ? "unset" : code === 1 ? "ok" : code === 2 ? "error" : String(code);
}
