/**
 * Several expositions of the same metrics (one per thread of a server) as one: each family's `# HELP`
 * and `# TYPE` once, then every source's samples with a label telling the source, so
 * `sum without (thread) (…)` gives the server's total and nothing collides. A sample that already has
 * a label of that name (an application's `node` label, a thread-merged exposition merged again) keeps
 * its value as `exported_<name>` (`exported_exported_<name>` if that is taken too), as Prometheus does
 * with `honor_labels: false`: a label name twice would make Prometheus reject the whole scrape.
 * @example
 * mergeExpositions([{ label: "0", text: a }, { label: "1", text: b }], "thread");
 */
export function mergeExpositions(sources: ReadonlyArray<{ label: string; text: string }>, labelName: string): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const { label, text } of sources) {
    const pair = `${labelName}="${label.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    let current: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const header = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (header) {
        const name = header[2]!;
        current = families.get(name);
        if (!current) families.set(name, (current = { head: [], samples: [] }));
        if (current.head.length < 2 && !current.head.some((seen) => seen.startsWith(`# ${header[1]} `))) current.head.push(line);
        continue;
      }
      if (line.startsWith("#")) continue;
      const brace = line.indexOf("{");
      const space = line.indexOf(" ");
      const labelled =
        brace !== -1 && brace < space
          ? `${line.slice(0, brace + 1)}${pair},${renameLabel(line, brace + 1, labelName)}`
          : `${line.slice(0, space)}{${pair}}${line.slice(space)}`;
      (current ?? orphan(families)).samples.push(labelled);
    }
  }
  const lines: string[] = [];
  for (const { head, samples } of families.values()) lines.push(...head, ...samples);
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

function orphan(families: Map<string, { head: string[]; samples: string[] }>): { head: string[]; samples: string[] } {
  let family = families.get("");
  if (!family) families.set("", (family = { head: [], samples: [] }));
  return family;
}

/**
 * The sample line from `start` (just after its `{`) with the label `name`, if it has one, renamed to
 * `exported_<name>` (prefixed again while that name is taken). Label values are skipped as quoted
 * strings with backslash escapes, so a value holding `name="` is left alone.
 */
function renameLabel(line: string, start: number, name: string): string {
  const names: Array<{ name: string; at: number }> = [];
  let i = start;
  while (i < line.length && line[i] !== "}") {
    const eq = line.indexOf("=", i);
    if (eq === -1 || line[eq + 1] !== '"') return line.slice(start); // not a label set this reads: as it is
    names.push({ name: line.slice(i, eq).trim(), at: i });
    i = eq + 2;
    while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
    i++; // the closing quote
    if (line[i] === ",") i++;
  }
  const clash = names.find((label) => label.name === name);
  if (!clash) return line.slice(start);
  let renamed = `exported_${name}`;
  while (names.some((label) => label.name === renamed)) renamed = `exported_${renamed}`;
  return line.slice(start, clash.at) + renamed + line.slice(clash.at + line.slice(clash.at).indexOf("="));
}
