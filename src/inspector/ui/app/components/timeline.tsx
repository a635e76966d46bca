/**
 * A step timeline: one bar per step on a shared time axis, sleeps and waits dashed, failures red,
 * retries as a badge. Bars are sized with CSSOM (`style.width`), which `default-src 'self'` allows.
 */
import type { ComponentChildren } from "preact";

export interface TimelineStep {
  key: string;
  label: ComponentChildren;
  kind: string;
  status: string;
  startedAt?: number | null;
  endedAt?: number | null;
  attempts?: number;
  detail: ComponentChildren;
}

export function Timeline({ steps, now = Date.now() }: { steps: readonly TimelineStep[]; now?: number }) {
  if (steps.length === 0) return <p class="muted">No steps yet.</p>;
  // Steps without times (an engine that keeps none) are listed without bars.
  const timed = steps.filter((s) => s.startedAt != null);
  const first = Math.min(...timed.map((s) => s.startedAt ?? now));
  const span = Math.max(1, Math.max(...timed.map((s) => s.endedAt ?? now)) - first);
  return (
    <ol class="timeline">
      {steps.map((s) => {
        const start = s.startedAt ?? undefined;
        const left = start === undefined ? 0 : ((start - first) / span) * 100;
        const width = start === undefined ? 0 : Math.max(0.5, (((s.endedAt ?? now) - start) / span) * 100);
        return (
          <li key={s.key} class={`step step-${s.status} step-kind-${s.kind}`}>
            <details>
              <summary>
                <span class="step-label">
                  {s.label} <span class="muted small">{s.kind}</span>{" "}
                  <span class={`status status-${s.status}`}>{s.status}</span>
                  {(s.attempts ?? 1) > 1 && <span class="badge">{s.attempts} attempts</span>}
                </span>
                {start !== undefined && (
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
                )}
              </summary>
              <div class="step-detail">{s.detail}</div>
            </details>
          </li>
        );
      })}
    </ol>
  );
}
