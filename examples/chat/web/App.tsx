/**
 * The chat page: `useAgent` connects to the `Chat` agent, `useAgentChat` runs the conversation.
 * Answers stream in; a tool that needs approval shows Approve / Deny; the transcript is stored by
 * the agent, so a reload shows it again.
 */
import { getToolName, isToolUIPart, type UIMessage } from "ai";
import { useState, type FormEvent } from "react";
import { getToolPartState, useAgent, useAgentChat, type AITool } from "hearth/react";

/** The agent's state: which model answers. */
interface ChatState {
  model: string;
  offline: boolean;
}

type Part = UIMessage["parts"][number];
type ToolPart = Extract<Part, { toolCallId: string }>;

const SUGGESTIONS = [
  "What time is it?",
  "Which language does my browser use?",
  'Send an email to ada@example.com about "Launch day"',
];

/** A tool the page runs itself: the agent offers it to the model, the browser answers the call. */
const CLIENT_TOOLS: Record<string, AITool> = {
  get_browser_info: {
    description: "The user's browser: its language and time zone",
    parameters: { type: "object", properties: {} },
    execute: () => ({ language: navigator.language, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone }),
  },
};

export function App({ name }: { name: string }) {
  const [model, setModel] = useState<ChatState | undefined>(undefined);
  const agent = useAgent<ChatState>({ agent: "Chat", name, onStateUpdate: (state) => setModel(state) });
  const chat = useAgentChat({ agent, tools: CLIENT_TOOLS });
  const { messages, sendMessage, status, isStreaming, isRecovering, isLoadingHistory, stop, clearHistory, addToolApprovalResponse } = chat;
  const [draft, setDraft] = useState("");
  // A turn a server restart cut short is being continued: busy, though nothing streams yet.
  const busy = status === "submitted" || isStreaming || isRecovering;

  const send = (text: string): void => {
    if (text.trim() === "" || busy) return;
    void sendMessage({ text });
    setDraft("");
  };
  const onSubmit = (event: FormEvent): void => {
    event.preventDefault();
    send(draft);
  };

  return (
    <div className="page">
      <header>
        <strong>Hearth chat</strong>
        <span className="conversation">{name}</span>
        <span data-testid="model" className={model?.offline ? "model offline" : "model"}>
          {model === undefined ? "…" : model.offline ? "offline demo model" : model.model}
        </span>
        <span data-testid="connection" className="connection">
          {agent.identified ? "connected" : "connecting…"}
        </span>
      </header>
      {model?.offline && (
        <p className="notice">
          No API key is set, so answers come from the built-in offline demo model: it echoes you and calls a tool
          when you name it. Set <code>OPENAI_API_KEY</code>, <code>ANTHROPIC_API_KEY</code> or{" "}
          <code>OPENAI_BASE_URL</code> for a real model.
        </p>
      )}
      <main data-testid="transcript" aria-live="polite">
        {isLoadingHistory && <p className="hint">Loading the conversation…</p>}
        {!isLoadingHistory && messages.length === 0 && <p className="hint">No messages yet. Try a suggestion below.</p>}
        {messages.map((message, index) => (
          <article
            key={message.id}
            data-testid="message"
            data-role={message.role}
            data-streaming={isStreaming && index === messages.length - 1 && message.role === "assistant"}
            className={`message ${message.role}`}
          >
            {message.parts.map((part, partIndex) => (
              <MessagePart
                key={partIndex}
                part={part}
                onApproval={(id, approved) => addToolApprovalResponse({ id, approved })}
              />
            ))}
          </article>
        ))}
        {status === "submitted" && <p className="hint">Thinking…</p>}
        {chat.error && <p className="error">{chat.error.message}</p>}
      </main>
      <div className="suggestions">
        {SUGGESTIONS.map((text) => (
          <button key={text} type="button" disabled={busy} onClick={() => send(text)}>
            {text}
          </button>
        ))}
      </div>
      <form onSubmit={onSubmit}>
        <input
          data-testid="composer"
          value={draft}
          placeholder="Write a message"
          autoComplete="off"
          onChange={(event) => setDraft(event.target.value)}
        />
        {busy ? (
          <button type="button" data-testid="stop" onClick={() => void stop()}>
            Stop
          </button>
        ) : (
          <button type="submit" data-testid="send" disabled={draft.trim() === ""}>
            Send
          </button>
        )}
        <button type="button" data-testid="clear" className="secondary" disabled={busy} onClick={clearHistory}>
          Clear
        </button>
      </form>
      <footer data-testid="status">{isStreaming ? "streaming" : isRecovering ? "recovering" : status}</footer>
    </div>
  );
}

function MessagePart({ part, onApproval }: { part: Part; onApproval(id: string, approved: boolean): void }) {
  if (part.type === "text") return <p className="text">{part.text}</p>;
  if (part.type === "reasoning") {
    return (
      <details className="reasoning">
        <summary>Reasoning</summary>
        {part.text}
      </details>
    );
  }
  if (isToolUIPart(part)) return <ToolCard part={part} onApproval={onApproval} />;
  return null;
}

const STATE_LABELS: Record<ReturnType<typeof getToolPartState>, string> = {
  loading: "running",
  streaming: "preparing",
  "waiting-approval": "waiting for approval",
  approved: "approved",
  complete: "done",
  error: "failed",
  denied: "denied",
};

function ToolCard({ part, onApproval }: { part: ToolPart; onApproval(id: string, approved: boolean): void }) {
  const state = getToolPartState(part);
  const name = getToolName(part);
  return (
    <section className="tool" data-testid="tool" data-tool={name} data-state={state}>
      <div className="tool-head">
        <code>{name}</code>
        <span className={`badge ${state}`}>{STATE_LABELS[state]}</span>
      </div>
      {part.input !== undefined && (
        <>
          <small>Arguments</small>
          <pre className="tool-input">{JSON.stringify(part.input, null, 2)}</pre>
        </>
      )}
      {part.state === "approval-requested" && (
        <div className="actions">
          <button type="button" onClick={() => onApproval(part.approval.id, true)}>
            Approve
          </button>
          <button type="button" className="secondary" onClick={() => onApproval(part.approval.id, false)}>
            Deny
          </button>
        </div>
      )}
      {part.state === "output-available" && (
        <>
          <small>Result</small>
          <pre className="tool-output" data-testid="tool-output">
            {JSON.stringify(part.output, null, 2)}
          </pre>
        </>
      )}
      {part.state === "output-error" && <p className="error">{part.errorText}</p>}
    </section>
  );
}
