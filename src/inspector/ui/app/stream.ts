/**
 * The live stream (`GET /api/stream`, server-sent events): one EventSource per view, topics
 * multiplexed, resumed by the browser with Last-Event-ID after a dropped connection.
 */
import { useEffect, useState } from "preact/hooks";
import { sessionProof, withQuery } from "./api.ts";

export type Topic = "logs" | "events" | "spans" | "metrics";

export interface StreamMessage {
  topic: Topic;
  id: string;
  data: unknown;
}

export interface StreamFilter {
  class?: string;
  agent?: string;
}

/** Most messages a live view keeps; older ones scroll away. */
export const LIVE_BUFFER = 500;

/** What a view's stream has shown, and for which topics and filter. */
interface Shown {
  subject: string;
  messages: StreamMessage[];
}

const NONE: StreamMessage[] = [];

/**
 * Subscribes while `enabled`; newest message last, at most {@link LIVE_BUFFER}. Messages belong to
 * their topics and filter: another agent's view starts empty, while pausing keeps what was shown.
 * `connected` is false while the browser reconnects.
 */
export function useStream(
  topics: readonly Topic[],
  filter: StreamFilter,
  enabled = true,
): { messages: StreamMessage[]; connected: boolean; clear: () => void } {
  const subject = `${topics.join(",")}|${filter.class ?? ""}|${filter.agent ?? ""}`;
  const [shown, setShown] = useState<Shown>({ subject, messages: NONE });
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!enabled) return undefined;
    // An EventSource sends no headers: the session's proof rides in the query, to this origin alone.
    const source = new EventSource(
      withQuery("/api/stream", { topics: topics.join(","), class: filter.class, agent: filter.agent, session: sessionProof.get() }),
    );
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    const listeners = topics.map((topic) => {
      const listener = (event: MessageEvent<string>) => {
        let data: unknown;
        try {
          data = JSON.parse(event.data);
        } catch {
          data = event.data;
        }
        const message = { topic, id: event.lastEventId, data };
        setShown((old) => ({ subject, messages: [...(old.subject === subject ? old.messages : NONE).slice(-(LIVE_BUFFER - 1)), message] }));
      };
      source.addEventListener(topic, listener);
      return listener;
    });
    return () => {
      topics.forEach((topic, i) => source.removeEventListener(topic, listeners[i] as EventListener));
      source.close();
      setConnected(false);
    };
  }, [subject, enabled]);
  return { messages: shown.subject === subject ? shown.messages : NONE, connected, clear: () => setShown({ subject, messages: NONE }) };
}
