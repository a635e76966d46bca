import { describe, expect, it } from "vitest";
import { copyAcross, copyArguments } from "../../src/host/copy.ts";

describe("what a stub call hands over", () => {
  it("copies objects and arrays (the callee never shares the caller's), and keeps primitives as they are", () => {
    const object = { list: [1, 2], when: new Date(0) };
    const copied = copyAcross(object);
    expect(copied).toEqual(object);
    expect(copied).not.toBe(object);
    expect(copied.list).not.toBe(object.list);
    for (const value of ["text", 42, -0, Number.NaN, true, null, undefined, 10n]) expect(Object.is(copyAcross(value), value)).toBe(true);
  });

  it("keeps an argument list of primitives, and copies one holding any object", () => {
    const plain = ["a", 1, null, undefined, false];
    expect(copyArguments(plain)).toBe(plain);
    const inner = { n: 1 };
    const mixed = ["a", inner];
    const copied = copyArguments(mixed);
    expect(copied).toEqual(mixed);
    expect(copied).not.toBe(mixed);
    expect(copied[1]).not.toBe(inner);
  });

  it("refuses what a structured clone refuses: symbols and functions, as arguments or as answers", () => {
    expect(() => copyArguments([Symbol("s")])).toThrow(/could not be cloned/);
    expect(() => copyArguments([() => 1])).toThrow(/could not be cloned/);
    expect(() => copyAcross(Symbol("s"))).toThrow(/could not be cloned/);
    expect(() => copyAcross(() => 1)).toThrow(/could not be cloned/);
  });
});
