/**
 * Metrics: charts of the last hour (uPlot) and the current values. Loaded as its own chunk, with
 * uPlot, the first time the view is opened.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { Table } from "../components/table.tsx";
import { Loaded } from "../components/status.tsx";
import { num } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href } from "../router.ts";
import { theme } from "../theme.ts";
import { PrometheusText } from "./prometheus-text.tsx";

interface Metrics {
  series: { name: string; labels: Record<string, string>; value: number }[];
  history: Record<string, [number, number][]>;
}

/** Charts shown when none is picked in the URL. */
const DEFAULT_CHARTS = 6;
const REFRESH_MS = 10_000;

export default function MetricsView({ query }: { query: URLSearchParams }) {
  const metrics = useApi<Metrics>("/api/metrics", REFRESH_MS);
  const picked = query.getAll("name");
  return (
    <section>
      <h1>Metrics</h1>
      <PrometheusText />
      <Loaded resource={metrics}>
        {(data) => {
          const names = Object.keys(data.history).sort();
          // Own keys only: `?name=constructor` names no metric (`in` would find Object.prototype's).
          const shown = picked.length > 0 ? picked.filter((n) => Object.hasOwn(data.history, n)) : names.slice(0, DEFAULT_CHARTS);
          return (
            <>
              <nav aria-label="Charts" class="chips">
                {names.map((n) => (
                  <a key={n} href={href(["metrics"], { name: n })} aria-current={shown.includes(n) ? "true" : undefined}>
                    {n}
                  </a>
                ))}
              </nav>
              <div class="charts">
                {shown.map((n) => (
                  <Chart key={`${n}-${theme.value}`} name={n} points={data.history[n] ?? []} />
                ))}
              </div>
              <h2>Current values</h2>
              <Table
                caption="Current metric values"
                rows={data.series}
                rowKey={(s, i) => `${s.name}${JSON.stringify(s.labels)}${i}`}
                empty="No metrics."
                columns={[
                  { title: "Name", cell: (s) => <span class="mono">{s.name}</span> },
                  {
                    title: "Labels",
                    cell: (s) => (
                      <span class="mono small">
                        {Object.entries(s.labels)
                          .map(([k, v]) => `${k}="${v}"`)
                          .join(", ")}
                      </span>
                    ),
                  },
                  { title: "Value", cell: (s) => num(s.value, 3), numeric: true },
                ]}
              />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function Chart({ name, points }: { name: string; points: [number, number][] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const element = box.current;
    if (element === null) return undefined;
    const styles = getComputedStyle(document.documentElement);
    const stroke = styles.getPropertyValue("--accent").trim() || "#f97316";
    const axis = styles.getPropertyValue("--fg-muted").trim() || "#888";
    const data: uPlot.AlignedData = [points.map((p) => p[0] / 1000), points.map((p) => p[1])];
    plot.current = new uPlot(
      {
        width: Math.max(240, element.clientWidth),
        height: 160,
        legend: { show: false },
        cursor: { show: true },
        series: [{}, { label: name, stroke, width: 2 }],
        axes: [
          { stroke: axis, grid: { stroke: "transparent" } },
          { stroke: axis, size: 60, values: (_plot, splits) => splits.map(compact) },
        ],
      },
      data,
      element,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [name, points]);
  const last = points.at(-1)?.[1];
  return (
    <figure class="card chart">
      <figcaption>
        <span class="mono">{name}</span> <span class="muted">now {num(last, 3)}</span>
      </figcaption>
      <div ref={box} role="img" aria-label={`${name} over the last hour, now ${num(last, 3)}`} />
    </figure>
  );
}

/** Axis numbers that fit: 1.2k, 3.4M, 5.6G. */
function compact(value: number): string {
  const size = Math.abs(value);
  if (size >= 1e9) return `${+(value / 1e9).toFixed(1)}G`;
  if (size >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (size >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return String(+value.toFixed(3));
}
