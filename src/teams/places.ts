/** Where a step is in a run: its path (built from the tree) and a short name for each node. */
import type { TeamNode } from "./nodes.ts";
import { childPath, type StepPlace } from "./scope.ts";

/** The place of a child step. */
export function at(place: StepPlace, segment: string, signal = place.signal): StepPlace {
  return { path: childPath(place.path, segment), depth: place.depth, signal };
}

/** A short name for paths and events. */
export function nameOf(node: TeamNode): string {
  if (node.kind === "member") return node.name;
  if (node.kind === "step") return node.options.name ?? nameOf(node.node);
  if (node.kind === "supervisor" || node.kind === "handoff") return node.name;
  return node.kind;
}

