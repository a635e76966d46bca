/**
 * The core (storage, agent, schedule, host, gateway and what they stand on) never imports a
 * capability: capabilities plug into it through named interfaces (host/timed-work.ts,
 * agent/instrumentation.ts, gateway/request-metrics.ts, the host's `bindings`), and platform/ is
 * where they meet. Read from the source (source-tree.ts: value imports only).
 */
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles, SRC, valueImports } from "./source-tree.ts";

/** The core's folders by layer: each may import its own folder and lower layers only. */
const CORE_LAYERS: readonly (readonly string[])[] = [
  ["limits.ts", "time", "protocol", "events", "web"],
  ["websocket"],
  ["storage"],
  ["agent"],
  ["schedule"],
  ["host"],
  ["gateway"],
];
const LAYER_OF = new Map(CORE_LAYERS.flatMap((folders, layer) => folders.map((folder) => [folder, layer] as const)));

interface Edge {
  readonly from: string;
  readonly to: string;
}

/** The top-level folder (or file) of `src` a path is in. */
function topOf(path: string): string {
  return relative(SRC, path).split("/")[0]!;
}

/** Every value import from one top-level folder of `src` to another. */
function folderEdges(): Array<Edge & { file: string; specifier: string }> {
  return sourceFiles(SRC).flatMap((file) =>
    valueImports(file, readFileSync(file, "utf8"))
      .map((specifier) => ({ file: relative(SRC, file), specifier, from: topOf(file), to: topOf(resolve(dirname(file), specifier)) }))
      .filter((edge) => edge.from !== edge.to),
  );
}

describe("the layers of src/", () => {
  const edges = folderEdges();

  it("finds the imports it checks (the parser sees value imports, not type-only ones)", () => {
    expect(valueImports("a.ts", `import { a, type B } from "./a.ts"; import type { C } from "./c.ts"; import { type D } from "./d.ts"; export { e } from "./e.ts"; export type { F } from "./f.ts"; await import("./g.ts");`)).toEqual([
      "./a.ts",
      "./e.ts",
      "./g.ts",
    ]);
    expect(edges.some((edge) => edge.from === "gateway" && edge.to === "host")).toBe(true);
    expect(edges.some((edge) => edge.from === "platform" && edge.to === "workflow")).toBe(true);
  });

  it("the core imports no capability, and each core layer only the layers below it", () => {
    const wrong = edges
      .filter((edge) => LAYER_OF.has(edge.from))
      .filter((edge) => {
        const to = LAYER_OF.get(edge.to);
        return to === undefined || to >= LAYER_OF.get(edge.from)!;
      })
      .map((edge) => `${edge.file} imports ${edge.specifier} (${edge.from} → ${edge.to})`);
    expect(wrong).toEqual([]);
  });

  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  /** Whether `from` reaches `to` through one or more folder edges. */
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const stack = [...(next.get(from) ?? [])];
    while (stack.length > 0) {
      const folder = stack.pop()!;
      if (folder === to) return true;
      if (seen.has(folder)) continue;
      seen.add(folder);
      stack.push(...(next.get(folder) ?? []));
    }
    return false;
  };

  it("no folder the core reaches leads back to the core", () => {
    expect([...LAYER_OF.keys()].filter((core) => reaches(core, core))).toEqual([]);
  });

  it("outside the core, folders import each other in a circle only where Agent's layers meet McpAgent", () => {
    // platform/agent.ts stacks the layers of sub-agents/, email/, fiber/ and mcp/ (the client), and
    // mcp/'s McpAgent extends that Agent: the one circle of folders allowed (decision 0027).
    const inCircles = [...next.keys()].filter((folder) => reaches(folder, folder)).sort();
    expect(inCircles).toEqual(["email", "fiber", "mcp", "platform", "sub-agents"]);
  });
});
