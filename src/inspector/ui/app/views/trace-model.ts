/** A trace's spans as a tree, with the GenAI attributes the views show. */

export interface Span {
  spanId: string;
  parentSpanId?: string | null;
  name: string;
  kind?: string | number;
  startedAt: number;
  endedAt: number;
  status: { code: string | number; message?: string };
  attributes: Record<string, unknown>;
  events: { name: string; time?: number; attributes?: Record<string, unknown> }[];
}

export interface SpanNode {
  span: Span;
  depth: number;
  children: SpanNode[];
}

/** Roots first, children by start time; a span whose parent is not in the trace is a root. */
export function buildTree(spans: readonly Span[]): SpanNode[] {
  const byId = new Map<string, SpanNode>();
  for (const span of spans) byId.set(span.spanId, { span, depth: 0, children: [] });
  const roots: SpanNode[] = [];
  for (const node of byId.values()) {
    const parent = node.span.parentSpanId == null ? undefined : byId.get(node.span.parentSpanId);
    if (parent === undefined) roots.push(node);
    else parent.children.push(node);
  }
  const order = (nodes: SpanNode[], depth: number): void => {
    nodes.sort((a, b) => a.span.startedAt - b.span.startedAt);
    for (const node of nodes) {
      node.depth = depth;
      order(node.children, depth + 1);
    }
  };
  order(roots, 0);
  return roots;
}

/** Depth-first order, for the waterfall. */
export function flatten(nodes: readonly SpanNode[]): SpanNode[] {
  const out: SpanNode[] = [];
  const walk = (list: readonly SpanNode[]) => {
    for (const node of list) {
      out.push(node);
      walk(node.children);
    }
  };
  walk(nodes);
  return out;
}

export function isError(span: Span): boolean {
  return span.status.code === 2 || span.status.code === "ERROR" || span.status.code === "error";
}

/** GenAI facts of a span (OpenTelemetry GenAI semantic conventions), when it has any. */
export interface GenAi {
  operation?: string;
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  cacheReadTokens?: number;
  reasoningTokens?: number;
  /** Time to the first chunk of a streamed reply, in seconds. */
  firstChunkSeconds?: number;
  tool?: string;
  agent?: string;
  conversation?: string;
  finishReasons?: unknown;
}

export function genAi(span: Span): GenAi | undefined {
  const a = span.attributes;
  const pick = (...keys: string[]) => keys.map((k) => a[k]).find((v) => v !== undefined && v !== null);
  const n = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v !== "" ? Number(v) : undefined);
  const s = (v: unknown) => (v === undefined ? undefined : String(v));
  const facts: GenAi = {
    operation: s(pick("gen_ai.operation.name")),
    model: s(pick("gen_ai.response.model", "gen_ai.request.model")),
    inputTokens: n(pick("gen_ai.usage.input_tokens")),
    outputTokens: n(pick("gen_ai.usage.output_tokens")),
    costUsd: n(pick("hearth.cost.usd")),
    cacheReadTokens: n(pick("gen_ai.usage.cache_read.input_tokens")),
    reasoningTokens: n(pick("gen_ai.usage.reasoning.output_tokens")),
    firstChunkSeconds: n(pick("gen_ai.response.time_to_first_chunk")),
    tool: s(pick("gen_ai.tool.name")),
    agent: s(pick("gen_ai.agent.name")),
    conversation: s(pick("gen_ai.conversation.id")),
    finishReasons: pick("gen_ai.response.finish_reasons"),
  };
  return Object.values(facts).some((v) => v !== undefined) ? facts : undefined;
}

/** The agent a span ran in, from Hearth's attributes. */
export function spanAgent(span: Span): { class: string; name: string } | undefined {
  const cls = span.attributes["hearth.agent.class"] ?? span.attributes["agent.class"];
  const name = span.attributes["hearth.agent.name"] ?? span.attributes["agent.name"];
  return typeof cls === "string" && typeof name === "string" ? { class: cls, name } : undefined;
}
