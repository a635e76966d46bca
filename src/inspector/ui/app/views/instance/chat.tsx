/** Chat: the transcript with tool calls, reasoning and tokens per message. */
import { agentPath, withQuery, type AgentRef } from "../../api.ts";
import { JsonView } from "../../components/json-view.tsx";
import { Loaded } from "../../components/status.tsx";
import { PagerIfPaged, usePageCursors } from "../../components/table.tsx";
import { num, time } from "../../format.ts";
import { useApi } from "../../hooks.ts";

interface Part {
  type: string;
  text?: string;
  toolName?: string;
  toolCallId?: string;
  state?: string;
  input?: unknown;
  output?: unknown;
  errorText?: string;
}

interface Message {
  id: string;
  role: string;
  parts: Part[];
  createdAt?: number;
  usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number; costUsd?: number };
}

export function ChatTab({ agent }: { agent: AgentRef }) {
  const [cursors, setCursors] = usePageCursors(agentPath(agent, "/chat"));
  const chat = useApi<{
    messages: Message[];
    next: string | null;
    streaming: boolean;
    usage?: { calls: number; inputTokens: number; outputTokens: number; totalTokens: number };
  }>(withQuery(agentPath(agent, "/chat"), { cursor: cursors.at(-1) }), 5000);
  return (
    <>
      <h2>Chat transcript</h2>
      <Loaded resource={chat}>
        {(data) => (
          <>
            {data.usage !== undefined && (
              <p data-testid="chat-usage">
                Tokens over {num(data.usage.calls)} turn{data.usage.calls === 1 ? "" : "s"}: {num(data.usage.inputTokens)} input,{" "}
                {num(data.usage.outputTokens)} output ({num(data.usage.totalTokens)} in all)
              </p>
            )}
            {data.streaming && (
              <p class="badge" role="status">
                A reply is streaming
              </p>
            )}
            {data.messages.length === 0 && <p class="muted">No messages.</p>}
            <ol class="chat">
              {data.messages.map((m) => (
                <li key={m.id} class={`bubble bubble-${m.role}`}>
                  <div class="muted small">
                    <strong>{m.role}</strong> · {time(m.createdAt)}
                    {m.usage !== undefined && (
                      <>
                        {" "}
                        · {num(m.usage.inputTokens)} in / {num(m.usage.outputTokens)} out tokens
                      </>
                    )}
                  </div>
                  {m.parts.map((p, i) => (
                    <PartView key={i} part={p} />
                  ))}
                </li>
              ))}
            </ol>
            <PagerIfPaged cursors={cursors} next={data.next} onChange={setCursors} label="Pages of the transcript" />
          </>
        )}
      </Loaded>
    </>
  );
}

function PartView({ part }: { part: Part }) {
  if (part.type === "text") return <p class="pre">{part.text}</p>;
  if (part.type === "reasoning")
    return (
      <details>
        <summary>Reasoning</summary>
        <p class="pre muted">{part.text}</p>
      </details>
    );
  if (part.type.startsWith("tool-") || part.type === "dynamic-tool") {
    const name = part.toolName ?? part.type.slice("tool-".length);
    return (
      <details class="tool">
        <summary>
          Tool call <span class="mono">{name}</span> <span class="muted small">{part.state ?? ""}</span>
        </summary>
        <h4>Input</h4>
        <JsonView value={part.input} label={`Input of ${name}`} />
        {part.output !== undefined && (
          <>
            <h4>Output</h4>
            <JsonView value={part.output} label={`Output of ${name}`} />
          </>
        )}
        {part.errorText !== undefined && <p class="error">{part.errorText}</p>}
      </details>
    );
  }
  if (part.type === "step-start") return null;
  return <JsonView value={part} label={part.type} />;
}
