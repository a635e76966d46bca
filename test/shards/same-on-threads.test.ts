/**
 * One thread and two behave the same (decision 0018): each case runs on a plain host and on two shards
 * linked as `--threads 2` links its threads, with the agent on the second shard.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestSocket } from "../support/harness.ts";
import { EmailError, WorkflowStateError } from "../../src/index.ts";
import { BIG_BYTES, MyError, startProbes, type Probes } from "./fixtures/probe.ts";

/** GETs each of `paths` in turn over one kept-alive connection to `url`: each answer's headers and body length. */
async function overOneConnection(url: string, paths: string[]): Promise<Array<{ headers: IncomingHttpHeaders; bytes: number }>> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const answers: Array<{ headers: IncomingHttpHeaders; bytes: number }> = [];
  try {
    for (const path of paths) {
      answers.push(
        await new Promise((resolve, reject) => {
          httpRequest(`${url}${path}`, { agent }, (response) => {
            let bytes = 0;
            response.on("data", (chunk: Buffer) => void (bytes += chunk.byteLength));
            response.on("end", () => resolve({ headers: response.headers, bytes }));
          })
            .on("error", reject)
            .end();
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return answers;
}

describe.each([1, 2] as const)("with %i thread(s)", (threads) => {
  let probes: Probes;
  beforeEach(async () => {
    probes = await startProbes(threads);
  });
  afterEach(async () => {
    await probes.stop();
  });

  it("refuses a close of a relayed WebSocket with a code no endpoint may send or a reason over 123 bytes at the agent, and the socket carries on", async () => {
    const name = probes.nameOn(1);
    // A route of the worker's own: the upgrade is answered on the thread it reached, the socket relayed.
    const socket = await TestSocket.open(`${probes.nodes[0]!.server.url.replace("http", "ws")}/room/${name}`);
    await socket.waitForType("cf_agent_identity");
    for (const [close, error] of [
      ["close 1006 0", /^threw TypeError: Invalid WebSocket close code: 1006\.$/],
      ["close 2000 0", /^threw TypeError: Invalid WebSocket close code: 2000\. Hearth sends 1000–1003, 1007–1014 and 3000–4999/],
      ["close 1000 124", /^threw TypeError: The WebSocket close reason must be at most 123 bytes of UTF-8, got 124\.$/],
    ] as const) {
      socket.send(close);
      expect(await socket.waitFor((frame) => typeof frame === "string" && frame.startsWith("threw"), socket.frames.length)).toMatch(error);
    }
    socket.send("close 4001 123");
    expect(await socket.waitClosed()).toEqual({ code: 4001, reason: "r".repeat(123) });
    // The server carries on.
    const stub = probes.probes.getByName(name);
    expect(await stub.where()).toBe(`shard-${threads - 1}`);
  });

  it("keeps the order of a stub's fetches and calls, whatever bodies the fetches carry", async () => {
    const stub = probes.probes.getByName(probes.nameOn(1));
    const url = (text: string) => `http://probe/note?text=${text}`;
    const made = [
      stub.fetch(url("A")),
      stub.note("B"),
      stub.fetch(url("C"), { method: "POST", body: "c" }),
      stub.note("D"),
      stub.fetch(new Request(url("E"), { method: "POST", body: new Blob(["e"]).stream(), duplex: "half" } as RequestInit)),
      stub.fetch(url("F")),
      stub.note("G"),
    ];
    expect((await Promise.all(made)).map((answer) => (answer instanceof Response ? answer.status : "called"))).toEqual([200, "called", 200, "called", 200, 200, "called"]);
    expect(await stub.noted()).toEqual(["A", "B", "C", "D", "E", "F", "G"]);
  });

  it("goes on with the calls behind a fetch whose body cannot be read", async () => {
    const stub = probes.probes.getByName(probes.nameOn(1));
    const failing = new ReadableStream({ pull: (controller) => controller.error(new Error("the body broke")) });
    const broken = stub.fetch(new Request("http://probe/note?text=broken", { method: "POST", body: failing, duplex: "half" } as RequestInit)).catch(() => "failed");
    await stub.note("after");
    await broken;
    expect((await stub.noted()).at(-1)).toBe("after");
  });

  it("brings errors back with their cause, aggregated errors, data properties and Hearth's classes; a thrown value as it is", async () => {
    const stub = probes.probes.getByName(probes.nameOn(1));
    const caught = (kind: string) => stub.fails(kind).then(() => expect.fail("no error"), (error: unknown) => error);

    const mine = (await caught("mine")) as MyError;
    // A class of the project's own code exists on both threads, but only one thread made the error:
    // across threads it arrives as an Error with the class's name (decision 0018).
    expect(mine instanceof MyError).toBe(threads === 1);
    expect(mine).toBeInstanceOf(Error);
    expect([mine.name, mine.message, mine.code]).toEqual(["MyError", "mine failed", "E_MINE"]);
    expect(mine.cause).toBeInstanceOf(TypeError);
    expect([(mine.cause as Error).message, (mine.cause as Error).cause]).toEqual(["inner", "the root"]);

    const aggregate = (await caught("aggregate")) as AggregateError;
    expect(aggregate).toBeInstanceOf(AggregateError);
    expect(aggregate.message).toBe("several failed");
    expect(aggregate.errors[0]).toBeInstanceOf(RangeError);
    expect([(aggregate.errors[0] as Error).message, aggregate.errors[1]]).toEqual(["one", "two"]);

    expect(await caught("string")).toBe("a plain string");
    expect(await caught("object")).toEqual({ code: 42, detail: ["kept"] });

    const d1 = (await caught("d1")) as Error;
    expect(d1.message).toBe("D1_ERROR: no such table: missing: SQLITE_ERROR");
    expect((d1.cause as Error).message).toBe("no such table: missing: SQLITE_ERROR");

    const workflow = (await caught("workflow")) as Error;
    expect(workflow).toBeInstanceOf(WorkflowStateError);
    expect([workflow.name, workflow.message]).toEqual(["WorkflowStateError", "the instance is not paused"]);

    const email = (await caught("email")) as EmailError;
    expect(email).toBeInstanceOf(EmailError);
    expect([email.name, email.code, email.permanent, email.responseCode]).toEqual(["EmailError", "send_failed", true, 550]);
  });

  it("rejects a stub's fetch with an AbortError as soon as its signal aborts, and at once for a signal already aborted", async () => {
    const stub = probes.probes.getByName(probes.nameOn(1));
    const already = await stub.fetch("http://probe/slow", { signal: AbortSignal.abort() }).catch((error: unknown) => error);
    expect(already).toBeInstanceOf(DOMException);
    expect((already as DOMException).name).toBe("AbortError");

    const controller = new AbortController();
    const started = Date.now();
    const aborted = stub.fetch("http://probe/slow", { signal: controller.signal }).catch((error: unknown) => error);
    setTimeout(() => controller.abort(), 100);
    const error = await aborted;
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(1_000); // the agent answers after 1.5 s
    expect(await stub.where()).toBe(`shard-${threads - 1}`);
  });

  it("answers a large binary body of another thread's agent with its content-length, handed over or through a stub", async () => {
    const url = probes.nodes[0]!.server.url;
    // The connection's first request is for an agent of the first thread: it stays there, and the next
    // one, for the second thread's agent, is handed over.
    const [here, handed] = await overOneConnection(url, [`/agents/probe/${probes.nameOn(0)}`, `/agents/probe/${probes.nameOn(1)}/big`]);
    expect(here!.bytes).toBeGreaterThan(0);
    expect(probes.nodes[0]!.shard?.connections.moved ?? 0).toBe(0);
    expect([handed!.headers["content-length"], handed!.headers["transfer-encoding"], handed!.bytes]).toEqual([String(BIG_BYTES), undefined, BIG_BYTES]);
    const [stubbed] = await overOneConnection(url, [`/room/${probes.nameOn(1)}/big`]);
    expect([stubbed!.headers["content-length"], stubbed!.headers["transfer-encoding"], stubbed!.bytes]).toEqual([String(BIG_BYTES), undefined, BIG_BYTES]);
  });
});
