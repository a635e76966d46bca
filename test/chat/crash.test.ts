/**
 * A real crash mid-answer: a child process runs a chat agent with `chatRecovery` on; it is killed
 * with SIGKILL while the model streams, and started again on the same data directory. With no
 * request, the new process wakes the agent, onChatRecovery gets the partial answer and the turn's
 * stash, and the answer is continued in the same message.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { UIMessage } from "ai";
import { afterAll, describe, expect, it } from "vitest";
import { killChildren, startChild, type Child } from "../support/child.ts";
import { messageText, until } from "./helpers.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-chat-child.ts", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "hearth-chat-crash-"));
const WAIT_MS = 15_000;

afterAll(() => {
  killChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The first stdout line matching `pattern`, printed already or within WAIT_MS. */
async function line(child: Child, pattern: RegExp): Promise<string> {
  const found = child.lines.find((l) => pattern.test(l)) ?? (await child.nextLine(pattern, WAIT_MS));
  expect(found, `no line matching ${pattern} within ${WAIT_MS} ms; stdout:\n${child.lines.join("\n")}\nstderr:\n${child.stderr()}`).not.toBeNull();
  return found!;
}

async function messages(child: Child): Promise<UIMessage[]> {
  const response = await fetch(`${child.url}/agents/chat/a/get-messages`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return (await response.json()) as UIMessage[];
}

describe("a chat turn across SIGKILL", () => {
  it("is recovered by the next process without any request, and continued in the same message", { timeout: 60_000 }, async () => {
    const first = await startChild(CHILD, [dataDir, "1"]);
    const started = await fetch(`${first.url}/agents/chat/a/start`, { method: "POST", signal: AbortSignal.timeout(10_000) });
    expect(started.status).toBe(200);
    await line(first, /^STREAMED 4$/);
    first.proc.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    const second = await startChild(CHILD, [dataDir, "2"]);
    // Nothing is sent to it: the host wakes the agent from its due index.
    const recovered = await line(second, /^RECOVERED /);
    const [, kind, partialJson, stash] = /^RECOVERED (\w+) (".*") (.*)$/.exec(recovered)!;
    const partial = JSON.parse(partialJson!) as string;
    expect(kind).toBe("continue");
    expect(partial).toMatch(/^w1 (w\d+ )*$/);
    expect(JSON.parse(stash!)).toEqual({ generation: 1 });
    await line(second, /^RESPONDED completed true$/);
    await until(async () => (await messages(second)).length === 2, "the continued answer");
    const stored = await messages(second);
    expect(stored.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(messageText(stored[1])).toBe(`${partial}the end.`);
    second.proc.kill("SIGTERM");
    expect(await second.exited).toEqual({ code: 0, signal: null });

    // Recovered once is recovered for good.
    const third = await startChild(CHILD, [dataDir, "3"]);
    expect(messageText((await messages(third))[1])).toBe(`${partial}the end.`);
    expect(third.lines.filter((l) => l.startsWith("RECOVERED"))).toEqual([]);
    third.proc.kill("SIGTERM");
    await third.exited;
  });
});
