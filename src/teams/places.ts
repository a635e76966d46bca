/** Where a step is in a run: its path (built from the tree) and a short name for each node. */
import type { TeamNode } from "./nodes.ts";

/** Where a step is: its path, its delegation depth and the signal that stops it. */
export interface StepPlace {
  readonly path: string;
  readonly depth: number;
  readonly signal: AbortSignal;
}

const SEGMENT_ESCAPES: Readonly<Record<string, string>> = { "/": "∕", "∕": "%E2%88%95", "%": "%25" };

/**
 * `parent/segment` (the root's children have no leading slash). A name's "/" is written "∕" (U+2215),
 * so "/" only ever separates segments; "∕" itself and "%" are percent-encoded so that no two names
 * share a segment. Names without "/", "∕" or "%" are their own segment, as they always were.
 */
export function childPath(parent: string, segment: string): string {
  const clean = segment.replace(/[/∕%]/gu, (char) => SEGMENT_ESCAPES[char]!);
  return parent === "" ? clean : `${parent}/${clean}`;
}

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

