/**
 * The inspector's Prometheus exposition (`GET /metrics`), read with this page's session and shown in
 * the page, to read or download. A plain link cannot show it: a navigation sends the session cookie
 * but not the proof the API asks for beside it (docs/inspector/security.md).
 */
import { useState } from "preact/hooks";
import { apiText } from "../api.ts";
import { ErrorNote } from "../components/status.tsx";

export function PrometheusText() {
  const [text, setText] = useState<string | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const load = () =>
    apiText("/metrics").then(
      (value) => {
        setText(value);
        setError(undefined);
      },
      (failure: unknown) => setError(failure instanceof Error ? failure : new Error(String(failure))),
    );
  return (
    <details
      class="card"
      onToggle={(event) => {
        if (event.currentTarget.open && text === undefined) void load();
      }}
    >
      <summary>Prometheus text (GET /metrics)</summary>
      <ErrorNote error={error} />
      {text === undefined ? (
        error === undefined && (
          <p class="muted" role="status">
            Loading…
          </p>
        )
      ) : (
        <>
          <div class="row">
            <button type="button" onClick={() => void load()}>
              Refresh
            </button>
            <button type="button" onClick={() => download(text)}>
              Download metrics.txt
            </button>
          </div>
          <pre class="pre mono small scroll-box" tabIndex={0} aria-label="Prometheus text">
            {text}
          </pre>
        </>
      )}
    </details>
  );
}

function download(text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain; version=0.0.4; charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = "metrics.txt";
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
