/**
 * An event's context frame holds its agent scope: the scope of the agent the event was delivered to
 * takes the frame (no frame of its own); any other scope entered meanwhile — another agent built
 * while the event runs, whose constructor runs in its own scope — gets a frame of its own and leaves
 * the event's as it was.
 */
import { describe, expect, it } from "vitest";
import { callerOfCurrentScope, runInAgentScope, runInEventFrame } from "../../src/agent/context.ts";

/** A scope of the agent whose runtime is `runtime` (the agent object itself stands for it here). */
const scopeOf = (runtime: object, name: string) => ({ agent: runtime, runtime, className: "Thing", name });

describe("event frames and agent scopes", () => {
  it("lets only the event's own agent take its frame", () => {
    const owner = {};
    const other = {};
    const seen = runInEventFrame({}, owner, () => {
      // Another agent's scope, entered and left while the event runs (a constructor).
      runInAgentScope(scopeOf(other, "other"), () => expect(callerOfCurrentScope()).toEqual({ kind: "agent", className: "Thing", name: "other" }));
      const before = callerOfCurrentScope();
      runInAgentScope(scopeOf(owner, "owner"), () => {});
      return { before, after: callerOfCurrentScope() };
    });
    expect(seen.before).toEqual({ kind: "external" });
    // The owner's scope took the frame: what runs after it in the same event still sees it.
    expect(seen.after).toEqual({ kind: "agent", className: "Thing", name: "owner" });
  });

  it("starts an event with no scope, whatever scope started it", () => {
    const owner = {};
    const caller = runInAgentScope(scopeOf({}, "sender"), () => runInEventFrame({}, owner, () => callerOfCurrentScope()));
    expect(caller).toEqual({ kind: "external" });
  });

  it("takes the frame once: a second scope of the owner inside the event enters its own", () => {
    const owner = {};
    const outer = runInEventFrame({}, owner, () => {
      runInAgentScope(scopeOf(owner, "first"), () => {
        runInAgentScope({ ...scopeOf(owner, "second") }, () => expect(callerOfCurrentScope()).toMatchObject({ name: "second" }));
      });
      return callerOfCurrentScope();
    });
    expect(outer).toMatchObject({ name: "first" });
  });
});
