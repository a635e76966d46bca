/** The agent the A2A tests talk to: what it does depends on the message's text. */
import { Agent } from "../../src/index.ts";
import { handleA2ARequest, type A2AExecutor, type A2AServerOptions } from "../../src/a2a/index.ts";

/** Gates a test opens to let a waiting executor go on, by name. */
const gates = new Map<string, { promise: Promise<void>; open(): void }>();
export function gate(name: string): { promise: Promise<void>; open(): void } {
  let entry = gates.get(name);
  if (!entry) {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    gates.set(name, (entry = { promise, open }));
  }
  return entry;
}

/** How each `ask` execution ended: "done", or "aborted: <reason>". */
export const endings: string[] = [];

/** What the executor was called with, in order. */
export const calls: Array<{ text: string; taskId: string; resumed: boolean }> = [];

export function resetDesk(): void {
  gates.clear();
  calls.length = 0;
  endings.length = 0;
}

const textOf = (parts: Array<{ text?: string }>) => parts.map((part) => part.text ?? "").join("");

/**
 * - `echo <x>`: an artifact with <x>;
 * - `slow <gate>`: progress, then waits for the gate, then an artifact;
 * - `ask`: asks for a name, answers "Hello <name>";
 * - `chatty`: three progress messages, then asks (six events by then);
 * - `fail`: throws;
 * - `hang`: runs until canceled;
 * - `resume <gate>`: waits for the gate, but finishes at once when resumed after a restart;
 * - `chunks`: one artifact in two appended chunks;
 * - `partial <gate>`: two appended chunks and a progress message, then waits for the gate;
 * - `badappend`: an append without an artifact id (a mistake);
 * - `many`: twenty artifacts.
 */
export const deskExecutor: A2AExecutor = async (message, ctx) => {
  const text = textOf(message.parts);
  calls.push({ text, taskId: ctx.taskId, resumed: ctx.resumed });
  const [command, arg = ""] = text.split(" ");
  switch (command) {
    case "echo":
      ctx.emit({ artifact: { name: "echo", text: arg } });
      return;
    case "slow":
      ctx.emit({ status: "working", message: "started" });
      await gate(arg).promise;
      ctx.emit({ artifact: { name: "slow", text: `done ${arg}` } });
      return;
    case "ask": {
      try {
        const answer = await ctx.requireInput("What is your name?");
        ctx.emit({ artifact: { name: "greeting", text: `Hello ${textOf(answer.parts)}` } });
      } finally {
        endings.push(ctx.signal.aborted ? `aborted: ${(ctx.signal.reason as Error).message}` : "done");
      }
      return;
    }
    case "chatty": {
      for (const word of ["one", "two", "three"]) ctx.emit({ status: "working", message: word });
      const answer = await ctx.requireInput("And then?");
      ctx.emit({ artifact: { name: "answer", text: textOf(answer.parts) } });
      return;
    }
    case "fail":
      throw new Error("boom");
    case "hang":
      await new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error)));
      return;
    case "resume":
      if (ctx.resumed) ctx.emit({ artifact: { name: "resumed", text: "picked up after the restart" } });
      else await gate(arg).promise;
      return;
    case "chunks":
      ctx.emit({ artifact: { artifactId: "story", name: "story", text: "Once " } });
      ctx.emit({ artifact: { artifactId: "story", text: "upon a time" }, append: true, lastChunk: true });
      return;
    case "partial":
      ctx.emit({ artifact: { artifactId: "draft", name: "draft", text: "first " } });
      ctx.emit({ artifact: { artifactId: "draft", text: "second" }, append: true });
      ctx.emit({ status: "working", message: "halfway" });
      await gate(arg).promise;
      return;
    case "badappend":
      ctx.emit({ artifact: { text: "orphan" }, append: true });
      return;
    case "many":
      for (let i = 0; i < 20; i++) ctx.emit({ artifact: { name: `a${i}`, text: String(i) } });
      return;
    default:
      ctx.emit({ message: `unknown command ${command}` });
  }
};

export const deskOptions: A2AServerOptions = {
  card: {
    name: "Desk",
    description: "Echoes, waits, asks and fails on request",
    skills: [{ id: "echo", name: "Echo", description: "Repeats a word", tags: ["test"] }],
  },
  executor: deskExecutor,
  pushNotifications: { allowPrivate: true, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 } },
  extendedCard: (request) => ({ name: "Desk (extended)", description: `for ${request.headers.get("authorization") ?? "anyone"}` }),
  limits: { maxBodyBytes: 64 * 1024 },
};

export class Desk extends Agent {
  onRequest(request: Request) {
    return handleA2ARequest(this, request, deskOptions);
  }
}

/** The same desk with the defaults (push notifications to private addresses refused, no extended card), at most 6 events per task. */
const strictOptions: A2AServerOptions = { card: { name: "Strict", description: "Defaults" }, executor: deskExecutor, onInterrupted: "fail", limits: { maxEventsPerTask: 6 } };
export class StrictDesk extends Agent {
  onRequest(request: Request) {
    return handleA2ARequest(this, request, strictOptions);
  }
}

/** A desk behind a bearer token, and without push notifications. */
const guardedOptions: A2AServerOptions = {
  card: { name: "Guarded", description: "Needs a token" },
  executor: deskExecutor,
  pushNotifications: false,
  authenticate: (request) => request.headers.get("authorization") === "Bearer sesame",
};
export class GuardedDesk extends Agent {
  onRequest(request: Request) {
    return handleA2ARequest(this, request, guardedOptions);
  }
}

/** A desk served at a fixed path. */
const routedOptions: A2AServerOptions = { card: { name: "Routed", description: "At /agents/routed-desk/r/a2a" }, executor: deskExecutor, basePath: "/agents/routed-desk/r/a2a" };
export class RoutedDesk extends Agent {
  onRequest(request: Request) {
    return handleA2ARequest(this, request, routedOptions);
  }
}
