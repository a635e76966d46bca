/** The shape of a team's tree, which pins a run to the definition it started with. */
import { createHash } from "node:crypto";
import type { TeamNode } from "./nodes.ts";

/**
 * A hash of the tree's shape: kinds, member names, route and branch names, in order. Descriptions,
 * prompts and code may change under a running run; a change of structure may not.
 */
export function shapeHash(root: TeamNode): string {
  const shape = (node: TeamNode): unknown => {
    switch (node.kind) {
      case "member":
        return ["member", node.name];
      case "step":
        return ["step", shape(node.node), node.options.fallback ? shape(node.options.fallback) : null, node.options.degradeTo ? shape(node.options.degradeTo) : null, Boolean(node.options.needsApproval)];
      case "pipeline":
        return ["pipeline", node.steps.map(shape)];
      case "parallel":
        return ["parallel", Object.entries(node.branches).map(([name, child]) => [name, shape(child)])];
      case "map":
        return ["map", shape(node.node)];
      case "route":
        return ["route", Object.entries(node.routes).map(([name, child]) => [name, shape(child)])];
      case "branch":
        return ["branch", shape(node.then), node.else ? shape(node.else) : null];
      case "loop":
        return ["loop", shape(node.body)];
      case "fallback":
        return ["fallback", node.options.map(shape)];
      case "supervisor":
        return ["supervisor", node.name, node.members.map(shape)];
      case "handoff":
        return ["handoff", node.name, Object.entries(node.members).map(([name, child]) => [name, shape(child)])];
      case "approval":
        return ["approval"];
    }
  };
  return createHash("sha256").update(JSON.stringify(shape(root))).digest("hex").slice(0, 12);
}
