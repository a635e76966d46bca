/**
 * The source tree has no import cycles: a module never needs, through any chain of value imports,
 * a module that needs it. (Type-only imports are erased and do not count.) A cycle makes load order
 * matter and hides which layer depends on which; the fix is a small module both sides import.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles, SRC, valueImports } from "./source-tree.ts";

function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const targets = valueImports(file, text).map((specifier) => resolve(dirname(file), specifier)).filter((target) => existsSync(target));
    graph.set(file, targets);
  }
  return graph;
}

/** Groups of modules that import each other in a circle (Tarjan's strongly connected components of more than one module, or one importing itself). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(group);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe("src/", () => {
  it("has no import cycles", () => {
    const found = cycles(importGraph(sourceFiles(SRC))).map((group) => group.map((file) => relative(SRC, file)).sort());
    expect(found).toEqual([]);
  });

  it("is checked by a finder that does find a cycle", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
      ["e", ["e"]],
    ]);
    expect(cycles(graph).map((group) => group.sort())).toEqual([["a", "b", "c"], ["e"]]);
  });
});
