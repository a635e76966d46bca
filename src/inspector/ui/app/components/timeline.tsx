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
  const starts = steps.map((s) => s.startedAt ?? now);
  const ends = steps.map((s) => s.endedAt ?? now);
  const first = Math.min(...starts);
  const span = Math.max(1, Math.max(...ends) - first);
  return (
    <ol class="timeline">
      {steps.map((s, i) => {
        const left = (((starts[i] ?? first) - first) / span) * 100;
        const width = Math.max(0.5, (((ends[i] ?? now) - (starts[i] ?? first)) / span) * 100);
        return (
          <li key={s.key} class={`step step-${s.status} step-kind-${s.kind}`}>
            <details>
              <summary>
                <span class="step-label">
                  {s.label} <span class="muted small">{s.kind}</span>{" "}
                  <span class={`status status-${s.status}`}>{s.status}</span>
                  {(s.attempts ?? 1) > 1 && <span class="badge">{s.attempts} attempts</span>}
                </span>
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
              </summary>
              <div class="step-detail">{s.detail}</div>
            </details>
          </li>
        );
      })}
    </ol>
  );
}
