/**
 * Errors of a Durable Object's RPC methods and `fetch` reach the caller as they do on Cloudflare,
 * across the network: a copy of what the object threw (never the object's own error), marked
 * `remote: true`, with its name, message, stack, own properties and cause.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, Host, type DurableObjectNamespace } from "../../src/index.ts";
import { tempDir } from "../support/harness.ts";

class CodedError extends Error {
  code = "E_BAD";
  details = { retryAfter: 5 };
}

/** The errors the object threw, to compare with what its callers got. */
const threw: unknown[] = [];

class Failing extends DurableObject {
  coded(): never {
    const error = new CodedError("bad input", { cause: new RangeError("too small") });
    threw.push(error);
    throw error;
  }

  typed(): never {
    throw new TypeError("wrong type");
  }

  named(): never {
    const error = new Error("custom name");
    error.name = "QuotaError";
    throw error;
  }

  text(): never {
    throw "just a string";
  }

  returned(): Error {
    return new TypeError("returned, not thrown");
  }

  fetch(): Response {
    throw new RangeError("fetch failed");
  }
}

let host: Host | undefined;
let dir: ReturnType<typeof tempDir> | undefined;
afterEach(async () => {
  await host?.close();
  dir?.remove();
  host = undefined;
  dir = undefined;
  threw.length = 0;
});

function failing(): ReturnType<DurableObjectNamespace<Failing>["getByName"]> {
  dir = tempDir();
  host = new Host({ dataDir: dir.path, agents: {}, durableObjects: { FAILING: Failing } });
  return (host.env.FAILING as DurableObjectNamespace<Failing>).getByName("f");
}

async function rejection(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error("the call succeeded");
    },
    (error: unknown) => error,
  );
}

describe("an error thrown by a Durable Object", () => {
  it("reaches an RPC caller as a copy marked remote, with its name, message, stack, properties and cause", async () => {
    const error = (await rejection(failing().coded())) as CodedError & { remote?: boolean; cause: Error & { remote?: boolean } };
    const original = threw[0] as CodedError & { remote?: boolean };
    expect(error).not.toBe(original);
    expect(error).toBeInstanceOf(Error);
    expect(error.remote).toBe(true);
    expect(original.remote).toBeUndefined(); // the object's own error is left as it was
    expect({ name: error.name, message: error.message, stack: error.stack }).toEqual({ name: "Error", message: "bad input", stack: original.stack });
    expect({ code: error.code, details: error.details }).toEqual({ code: "E_BAD", details: { retryAfter: 5 } });
    expect(error.details).not.toBe(original.details);
    expect(error.cause).toBeInstanceOf(RangeError);
    expect(error.cause.message).toBe("too small");
    expect(error.cause).not.toBe(original.cause);
  });

  it("keeps a built-in class and a name of its own", async () => {
    const stub = failing();
    const typed = (await rejection(stub.typed())) as TypeError & { remote?: boolean };
    expect(typed).toBeInstanceOf(TypeError);
    expect(typed).toMatchObject({ name: "TypeError", message: "wrong type", remote: true });
    expect(await rejection(stub.named())).toMatchObject({ name: "QuotaError", message: "custom name", remote: true });
  });

  it("reaches a stub.fetch caller the same way", async () => {
    const error = (await rejection(failing().fetch("http://failing/"))) as RangeError & { remote?: boolean };
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ message: "fetch failed", remote: true });
  });

  it("a thrown value that is not an error arrives as it is; an error returned is a plain result", async () => {
    const stub = failing();
    expect(await rejection(stub.text())).toBe("just a string");
    const returned = await stub.returned();
    expect(returned).toBeInstanceOf(TypeError);
    expect((returned as TypeError & { remote?: boolean }).remote).toBeUndefined();
  });

  it("the runtime's own refusal of a call is marked remote too", async () => {
    expect(await rejection((failing() as unknown as { nope(): Promise<void> }).nope())).toMatchObject({
      name: "TypeError",
      message: 'The RPC receiver does not implement the method "nope".',
      remote: true,
    });
  });
});
