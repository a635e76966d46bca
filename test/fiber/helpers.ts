import { afterEach } from "vitest";
import { createTestEnv, type TestEnv, type TestEnvOptions } from "../../src/testing/index.ts";

/** A promise the test settles from outside: how a test holds a fiber mid-flight without sleeping. */
export interface Gate<T = void> {
  promise: Promise<T>;
  open(value: T): void;
  fail(error: Error): void;
}

export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Named gates shared by a test file's agents and its tests; a new name makes a new gate. */
export class Gates {
  readonly #gates = new Map<string, Gate<unknown>>();

  get<T = void>(name: string): Gate<T> {
    let found = this.#gates.get(name);
    if (!found) this.#gates.set(name, (found = gate<unknown>()));
    return found as Gate<T>;
  }

  clear(): void {
    this.#gates.clear();
  }
}

/** A fiber row as stored, for tests that check what is durable. */
export interface StoredFiber {
  id: string;
  name: string;
  status: string;
  snapshot: string | null;
}

/**
 * One test environment per test, closed after each test, then `reset` (the file's gates and
 * records). Returns `env(options = defaults)`, which starts it.
 */
export function envPerTest(defaults?: TestEnvOptions, reset: () => void = () => {}): (options?: TestEnvOptions) => Promise<TestEnv> {
  let t: TestEnv | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    reset();
  });
  return async (options = defaults) => {
    if (!options) throw new Error("env() needs options: no defaults given");
    return (t = await createTestEnv(options));
  };
}
