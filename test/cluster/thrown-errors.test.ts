/**
 * What an RPC to an agent on another cluster node throws: the same as across threads (its built-in or
 * Hearth class, `cause`, an AggregateError's `errors`, own data properties), not a bare Error.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { WorkflowStateError } from "../../src/workflow/errors.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { startTestNode, stopTestNode, type TestNode } from "./support/test-node.ts";

class Thrower extends Agent {
  failTyped(): never {
    throw Object.assign(new TypeError("bad input", { cause: new RangeError("too long") }), { code: "E_INPUT", detail: { field: "title" } });
  }
  failMany(): never {
    throw new AggregateError([new Error("first"), new WorkflowStateError("second")], "two failures");
  }
  failWithValue(): never {
    throw { reason: "not an Error" };
  }
  unclonable(): () => void {
    return () => {};
  }
  ping(): string {
    return "pong";
  }
  echo(value: unknown): unknown {
    return value;
  }
}

describe.skipIf(postgresUnavailable() !== undefined)("errors thrown by an agent on another node", () => {
  const nodes: TestNode[] = [];
  const stub = (node: TestNode, name: string) => getAgentByName(node.host.env.Thrower as AgentNamespace<Thrower>, name);

  beforeAll(async () => {
    const connectionString = await (await sharedPostgres()).database("thrown_errors");
    nodes.push(await startTestNode(connectionString, "a", { host: { agents: { Thrower } } }));
    nodes.push(await startTestNode(connectionString, "b", { host: { agents: { Thrower } } }));
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopTestNode(running).catch(() => undefined);
  }, 60_000);

  test("keep their class, cause, aggregated errors and properties, on the owning node and across", async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    expect(await (await stub(a, "t")).ping()).toBe("pong"); // a holds it now: b's calls cross
    for (const via of [a, b]) {
      const typed = await (await stub(via, "t")).failTyped().then(() => undefined, (error: unknown) => error);
      expect(typed).toBeInstanceOf(TypeError);
      expect(typed).toMatchObject({ message: "bad input", code: "E_INPUT", detail: { field: "title" } });
      expect((typed as Error).cause).toBeInstanceOf(RangeError);
      expect(((typed as Error).cause as Error).message).toBe("too long");

      const many = await (await stub(via, "t")).failMany().then(() => undefined, (error: unknown) => error);
      expect(many).toBeInstanceOf(AggregateError);
      const inner = (many as AggregateError).errors;
      expect(inner.map((error: Error) => error.message)).toEqual(["first", "second"]);
      expect(inner[1]).toBeInstanceOf(WorkflowStateError);

      await expect((await stub(via, "t")).failWithValue()).rejects.toEqual({ reason: "not an Error" });
      const clone = await (await stub(via, "t")).unclonable().then(() => undefined, (error: unknown) => error);
      expect(clone).toBeInstanceOf(DOMException);
      expect((clone as DOMException).name).toBe("DataCloneError");
      const argument = await (await stub(via, "t")).echo(() => {}).then(() => undefined, (error: unknown) => error);
      expect((argument as DOMException).name).toBe("DataCloneError");
    }
  });
});
