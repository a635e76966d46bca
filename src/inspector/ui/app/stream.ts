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

/**
 * Subscribes while `enabled`; newest message last, at most {@link LIVE_BUFFER}.
 * `connected` is false while the browser reconnects.
 */
export function useStream(
  topics: readonly Topic[],
  filter: StreamFilter,
  enabled = true,
): { messages: StreamMessage[]; connected: boolean; clear: () => void } {
  const [messages, setMessages] = useState<StreamMessage[]>([]);
  const [connected, setConnected] = useState(false);
  const key = `${topics.join(",")}|${filter.class ?? ""}|${filter.agent ?? ""}|${enabled}`;
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
        setMessages((old) => [...old.slice(-(LIVE_BUFFER - 1)), { topic, id: event.lastEventId, data }]);
      };
      source.addEventListener(topic, listener);
      return listener;
    });
    return () => {
      topics.forEach((topic, i) => source.removeEventListener(topic, listeners[i] as EventListener));
      source.close();
      setConnected(false);
    };
  }, [key]);
  return { messages, connected, clear: () => setMessages([]) };
}
