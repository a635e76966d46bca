/**
 * Runs before every test file. vitest makes its fake timers the first time a file uses `vi`'s timer
 * functions (`vi.waitFor` does, to see whether they are on) and keeps them for the worker, with the
 * global `Date` of that moment as the real one. With `isolate: false` a worker runs many files: made
 * while a test environment's virtual clock patches `Date`, they would take the patched class for
 * the real one, and every later `vi.useFakeTimers()` in that worker would throw on `new Date()`
 * ("Cannot redefine property: constructor"). Making them here, before any file runs, pins the real `Date`.
 */
import { vi } from "vitest";

vi.isFakeTimers();
