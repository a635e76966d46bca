import { describe, expect, it } from "vitest";
import { parsePrometheusText } from "./prom-text.ts";

// The checker the metrics tests trust must itself refuse what Prometheus would refuse.
describe("the strict text-format checker", () => {
  const family = "# HELP m_seconds Latency.\n# TYPE m_seconds histogram\n";
  it.each([
    ["no final line feed", "# TYPE a counter\na 1"],
    ["a sample before any TYPE", "a 1\n"],
    ["a bad metric name", "# TYPE a counter\n1a 1\n"],
    ["an unescaped quote", '# TYPE a counter\na{l="x"y"} 1\n'],
    ["a bad escape", '# TYPE a counter\na{l="\\t"} 1\n'],
    ["a sample of another family", "# TYPE a counter\nb 1\n"],
    ["a value that is no number", "# TYPE a counter\na one\n"],
    ["buckets that go down", `${family}m_seconds_bucket{le="1"} 2\nm_seconds_bucket{le="+Inf"} 1\nm_seconds_sum 1\nm_seconds_count 1\n`],
    ["no +Inf bucket", `${family}m_seconds_bucket{le="1"} 1\nm_seconds_sum 1\nm_seconds_count 1\n`],
    ["a _count other than +Inf", `${family}m_seconds_bucket{le="+Inf"} 2\nm_seconds_sum 1\nm_seconds_count 1\n`],
  ])("refuses %s", (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });

  it("accepts a well-formed histogram", () => {
    const text = `${family}m_seconds_bucket{le="1"} 1\nm_seconds_bucket{le="+Inf"} 2\nm_seconds_sum 3.5\nm_seconds_count 2\n`;
    expect(parsePrometheusText(text)[0]!.samples).toHaveLength(4);
  });
});
