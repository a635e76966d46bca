/** The event of a workflow control action, as the SDK names it. */
export function workflowControlEvent(action: "pause" | "resume" | "terminate"): "workflow:paused" | "workflow:resumed" | "workflow:terminated" {
  if (action === "pause") return "workflow:paused";
  return action === "resume" ? "workflow:resumed" : "workflow:terminated";
}
