/**
 * The inspector's Prometheus exposition (`GET /metrics`), read with this page's session and shown in
 * the page, to read or download. A plain link cannot show it: a navigation sends the session cookie
 * but not the proof the API asks for beside it (docs/inspector/security.md).
 */
import { useState } from "preact/hooks";
import { apiText } from "../api.ts";
import { Loaded } from "../components/status.tsx";
import { useApi } from "../hooks.ts";

export function PrometheusText() {
  const [opened, setOpened] = useState(false);
  const metrics = useApi<string>(opened ? "/metrics" : null, undefined, apiText);
  return (
    <details
      class="card"
      onToggle={(event) => {
        if (!event.currentTarget.open) return;
        if (!opened) setOpened(true);
        else if (metrics.data === undefined && !metrics.loading) metrics.reload(); // read again after a failure
      }}
    >
      <summary>Prometheus text (GET /metrics)</summary>
      {opened && (
        <Loaded resource={metrics}>
          {(text) => (
            <>
              <div class="row">
                <button type="button" onClick={metrics.reload}>
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
        </Loaded>
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
