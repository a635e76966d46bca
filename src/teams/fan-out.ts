/**
 * `parallel` and `map`: branches run at once (up to a concurrency cap), each under its own path, so
 * each is journaled and resumed on its own. A branch that fails stops its siblings; branches waiting
 * for approval let the others finish first, and a finished branch is never run again.
 */
import { withdrawApprovals } from "./approvals.ts";
import { errorInfo, isFinal, RunStopped, RunSuspended, type PendingApproval } from "./errors.ts";
import { at } from "./places.ts";
import type { MapNode, ParallelNode } from "./nodes.ts";
import { effect, type Execute, type RunScope, type StepPlace } from "./scope.ts";

export async function executeFanOut(scope: RunScope, node: ParallelNode | MapNode, input: unknown, place: StepPlace, execute: Execute): Promise<unknown> {
  if (node.kind === "parallel") {
    const names = Object.keys(node.branches);
    const outputs = await runAll(scope, names.length, node.concurrency, place, (i, signal) => execute(scope, node.branches[names[i]!]!, input, at(place, names[i]!, signal)));
    const results = Object.fromEntries(names.map((name, i) => [name, outputs[i]]));
    return node.reduce ? node.reduce(results, input) : results;
  }
  // The items are journaled: a resumed run fans out over the same list even if the code changed.
  const items = await effect(scope, at(place, "items"), {
    kind: "decision",
    counts: false,
    run: () => {
      const list = node.items(input);
      if (!Array.isArray(list)) throw new TypeError("map({ items }) must return an array");
      if (list.length > node.maxItems) throw new RangeError(`map() got ${list.length} items, over its maxItems of ${node.maxItems}`);
      return Promise.resolve({ output: list as unknown[] });
    },
  });
  const outputs = await runAll(scope, items.length, node.concurrency, place, (i, signal) => execute(scope, node.node, items[i], at(place, String(i), signal)));
  return node.reduce ? node.reduce(outputs, input) : outputs;
}

/**
 * Runs `count` tasks, at most `concurrency` at once. The first real failure aborts the rest and is
 * thrown once all have stopped; approvals asked by several branches are thrown together.
 */
export async function runAll(scope: RunScope, count: number, concurrency: number, place: StepPlace, task: (index: number, signal: AbortSignal) => Promise<unknown>): Promise<unknown[]> {
  const group = new AbortController();
  const onParentAbort = () => group.abort(place.signal.reason);
  place.signal.addEventListener("abort", onParentAbort, { once: true });
  const outputs = new Array<unknown>(count);
  const waiting: PendingApproval[] = [];
  // A branch may suspend with no approval of its own (a member's team run still running): it waits all the same.
  let suspended = false;
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < count && !failure) {
      const index = next++;
      try {
        outputs[index] = await task(index, group.signal);
      } catch (error) {
        if (error instanceof RunSuspended) {
          suspended = true;
          waiting.push(...error.approvals);
        }
        else if (!failure) {
          failure = { error };
          if (!(error instanceof RunStopped)) scope.emit("branch-failed", place.path, { index, error: errorInfo(error) });
          group.abort(isFinal(error) ? error : new Error(`a sibling branch failed: ${errorInfo(error).message}`));
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } finally {
    place.signal.removeEventListener("abort", onParentAbort);
  }
  if (failure) {
    withdrawApprovals(scope, waiting, `a sibling branch failed: ${errorInfo(failure.error).message}`);
    throw failure.error;
  }
  if (suspended) throw new RunSuspended(waiting);
  return outputs;
}
