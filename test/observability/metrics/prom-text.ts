/**
 * A strict parser of the Prometheus text format 0.0.4, for tests: every line must be a HELP, a TYPE
 * or a sample of the family last typed; names, label syntax, escapes and values are checked, and
 * histograms must have cumulative, increasing `le` buckets ending in `+Inf` equal to `_count`.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = "[a-zA-Z_][a-zA-Z0-9_]*";
const VALUE = String.raw`(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)`;
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (${VALUE})(?: -?\\d+)?$`);
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"(,|$)`);

export function parsePrometheusText(text: string): Family[] {
  if (text !== "" && !text.endsWith("\n")) throw new Error("The exposition must end with a line feed");
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((line, index) => {
    const at = `line ${index + 1} (${JSON.stringify(line)})`;
    const help = HELP_LINE.exec(line);
    if (help) {
      current = family(families, help[1]!, at);
      current.help = unescapeHelp(help[2]!, at);
      return;
    }
    const type = TYPE_LINE.exec(line);
    if (type) {
      const named = families.get(type[1]!) ?? family(families, type[1]!, at);
      if (named.samples.length > 0) throw new Error(`TYPE after samples at ${at}`);
      named.type = type[2] as Family["type"];
      current = named;
      return;
    }
    if (line.startsWith("#")) throw new Error(`Unexpected comment at ${at}`);
    const sample = SAMPLE_LINE.exec(line);
    if (!sample) throw new Error(`Malformed sample at ${at}`);
    if (!current) throw new Error(`Sample before any TYPE at ${at}`);
    const name = sample[1]!;
    const allowed = current.type === "histogram" ? ["_bucket", "_sum", "_count"].map((s) => current!.name + s) : [current.name];
    if (!allowed.includes(name)) throw new Error(`Sample ${name} does not belong to family ${current.name} at ${at}`);
    const value = sample[3]!;
    current.samples.push({ name, labels: parseLabels(sample[2] ?? "", at), value: value === "+Inf" ? Infinity : value === "-Inf" ? -Infinity : Number(value) });
  });
  const all = [...families.values()];
  for (const f of all) if (f.type === "histogram") checkHistogram(f);
  return all;
}

function family(families: Map<string, Family>, name: string, at: string): Family {
  if (families.has(name) && families.get(name)!.samples.length > 0) throw new Error(`Family ${name} appears twice, at ${at}`);
  const made = families.get(name) ?? { name, help: "", type: "untyped" as const, samples: [] };
  families.set(name, made);
  return made;
}

function parseLabels(text: string, at: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== "") {
    const pair = LABEL_PAIR.exec(rest);
    if (!pair) throw new Error(`Malformed labels at ${at}`);
    if (pair[1]! in labels) throw new Error(`Duplicate label ${pair[1]} at ${at}`);
    labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(pair[0].length);
  }
  return labels;
}

function unescapeHelp(text: string, at: string): string {
  if (/\\[^\\n]|\\$/.test(text.replace(/\\\\/g, ""))) throw new Error(`Bad escape in HELP at ${at}`);
  return text.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** Per series: `le` strictly increasing, counts cumulative, last `le` is `+Inf` and equals `_count`. */
function checkHistogram(f: Family): void {
  const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).filter(([k]) => k !== "le").sort());
  const series = new Map<string, { les: number[]; counts: number[]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const entry = series.get(key(s.labels)) ?? { les: [], counts: [] };
    series.set(key(s.labels), entry);
    if (s.name.endsWith("_bucket")) {
      const le = s.labels.le;
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      entry.les.push(le === "+Inf" ? Infinity : Number(le));
      entry.counts.push(s.value);
    } else if (s.name.endsWith("_count")) entry.count = s.value;
    else entry.sum = s.value;
  }
  for (const [labels, entry] of series) {
    const where = `${f.name}${labels}`;
    if (entry.les.at(-1) !== Infinity) throw new Error(`${where}: the last bucket must be le="+Inf"`);
    entry.les.forEach((le, i) => {
      if (Number.isNaN(le)) throw new Error(`${where}: le is not a number`);
      if (i > 0 && le <= entry.les[i - 1]!) throw new Error(`${where}: le must increase`);
      if (i > 0 && entry.counts[i]! < entry.counts[i - 1]!) throw new Error(`${where}: bucket counts must be cumulative`);
    });
    if (entry.count !== entry.counts.at(-1)) throw new Error(`${where}: _count must equal the +Inf bucket`);
    if (entry.sum === undefined) throw new Error(`${where}: _sum is missing`);
  }
}

/** The value of the one sample named `name` whose labels include `labels`. */
export function valueOf(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
