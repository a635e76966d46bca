/**
 * Names that become step paths are refused at definition when two steps could share a journal row:
 * an empty branch or route name (no segment at all) and "::" anywhere (it separates a member's path
 * from its own team run's in approvals decided at the root).
 */
import { describe, expect, it } from "vitest";
import { fnMember, handoff, parallel, pipeline, route, step, supervisor, team, type TeamMember } from "../../src/teams/index.ts";

const a = fnMember("a", () => "a");
const handMade: TeamMember = { kind: "member", name: "x::y", call: () => Promise.resolve({ output: null }) };
const model = "gpt-5-mini";

describe("names in step paths", () => {
  it("an empty parallel branch or route name is refused", () => {
    expect(() => parallel({ "": pipeline(a, fnMember("z", () => "z")), "0.a": fnMember("other", () => "other") })).toThrow('A parallel() branch name must be a non-empty name without "::" (got "")');
    expect(() => route({ routes: { "": a }, by: () => "" })).toThrow('A route() route name must be a non-empty name without "::" (got "")');
  });

  it('"::" in a member, step, branch, route, supervisor or handoff name is refused', () => {
    expect(() => fnMember("a::b", () => "a")).toThrow('without "/" or "::"');
    expect(() => pipeline(handMade)).toThrow(`pipeline() step 0: a member's name must be a non-empty name without "::" (got "x::y")`);
    expect(() => team("names-hand-made", handMade)).toThrow('(got "x::y")');
    expect(() => step(a, { name: "s::t" })).toThrow('step({ name }) must be a non-empty name without "::"');
    expect(() => parallel({ "b::c": a })).toThrow('(got "b::c")');
    expect(() => route({ routes: { "r::s": a }, by: () => "r::s" })).toThrow('(got "r::s")');
    expect(() => supervisor({ name: "lead::1", model, instructions: "go", members: [a] })).toThrow("supervisor({ name })");
    expect(() => supervisor({ name: "lead", model, instructions: "go", members: [handMade] })).toThrow("supervisor() member 0's name");
    expect(() => handoff({ name: "desk", members: { "t::1": a }, start: "t::1", handoffOf: () => undefined })).toThrow("A handoff() member key");
  });
});
