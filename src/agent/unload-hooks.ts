/**
 * Work of a feature that an agent instance holds while it is in memory (an execution waiting for a
 * client, say) and that must end when the instance leaves memory: hooks run at the instance's unload,
 * once. A feature outside the core registers here instead of the core knowing it.
 */
const hooks = new WeakMap<object, Set<() => void>>();

/**
 * Runs `hook` when `agent` leaves memory (eviction, hibernation, shutdown); returns what removes it.
 * @example
 * const stop = onAgentUnload(this, () => controller.abort(new Error("the agent left memory")));
 */
export function onAgentUnload(agent: object, hook: () => void): () => void {
  let set = hooks.get(agent);
  if (!set) hooks.set(agent, (set = new Set()));
  set.add(hook);
  return () => void set.delete(hook);
}

/** @internal The agent is unloading: its hooks run once, each failure logged. */
export function runUnloadHooks(agent: object): void {
  const set = hooks.get(agent);
  if (!set) return;
  hooks.delete(agent);
  for (const hook of set) {
    try {
      hook();
    } catch (error) {
      console.error("[hearth] an unload hook failed:", error);
    }
  }
}
