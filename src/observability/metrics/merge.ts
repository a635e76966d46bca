/**
 * Several expositions of the same metrics (one per thread of a server) as one: each family's `# HELP`
 * and `# TYPE` once, then every source's samples with a label telling the source, so
 * `sum without (thread) (…)` gives the server's total and nothing collides.
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
      const labelled = brace !== -1 && brace < space ? `${line.slice(0, brace + 1)}${pair},${line.slice(brace + 1)}` : `${line.slice(0, space)}{${pair}}${line.slice(space)}`;
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
