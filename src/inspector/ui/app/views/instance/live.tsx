/** Live events and logs of one instance, from the event stream. */
import { useState } from "preact/hooks";
import { ownName, type AgentRef } from "../../api.ts";
import { LogLine, type LogRecord } from "../logs.tsx";
import { brief, time } from "../../format.ts";
import { useStream } from "../../stream.ts";

interface AgentEvent {
  type?: string;
  name?: string;
  timestamp?: number;
  payload?: unknown;
}

export function LiveTab({ agent }: { agent: AgentRef }) {
  const [paused, setPaused] = useState(false);
  // A sub-agent's events and log lines carry its own class and name, not its root's.
  const own = ownName(agent);
  const { messages, connected, clear } = useStream(["events", "logs"], { class: own.class, agent: own.name }, !paused);
  return (
    <>
      <div class="row">
        <h2>Events and logs</h2>
        <span class={connected ? "ok small" : "muted small"} role="status">
          {paused ? "paused" : connected ? "live" : "connecting…"}
        </span>
        <button type="button" onClick={() => setPaused(!paused)}>
          {paused ? "Resume" : "Pause"}
        </button>
        <button type="button" onClick={clear}>
          Clear
        </button>
      </div>
      {messages.length === 0 && <p class="muted">Nothing yet: events and logs of this instance appear here as they happen.</p>}
      <ol class="log" aria-live="off" data-testid="live-lines">
        {messages.map((m) =>
          m.topic === "logs" ? (
            <LogLine key={`${m.topic}-${m.id}`} record={m.data as LogRecord} />
          ) : (
            <li key={`${m.topic}-${m.id}`} class="mono">
              <span class="muted">{time((m.data as AgentEvent).timestamp)}</span>{" "}
              <span class="badge">{(m.data as AgentEvent).type ?? m.topic}</span> {brief((m.data as AgentEvent).payload ?? m.data, 200)}
            </li>
          ),
        )}
      </ol>
    </>
  );
}
