import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cleanup, requireBuild, runCli, type CliProcess } from "../cli/helpers.ts";
import { parsePrometheusText } from "../observability/metrics/prom-text.ts";
import { TestSocket } from "../support/harness.ts";

const APP = join("test", "shards", "fixtures", "threads-app.ts");

async function getJson(url: string): Promise<Record<string, number | boolean>> {
  const response = await fetch(url, { headers: { connection: "close" } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, number | boolean>;
}

async function stop(cli: CliProcess): Promise<void> {
  cli.proc.kill("SIGTERM");
  expect((await cli.exited()).code).toBe(0);
}

describe("hearth start --threads", () => {
  let dataDir: string;
  beforeAll(() => requireBuild());
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  afterAll(() => cleanup());

  it("spreads agents over the threads: each always on the same one, state kept, sockets and calls across threads", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "hearth-threads-"));
    const cli = runCli(["start", APP, "--threads", "2", "--port", "0", "--data", dataDir]);
    const url = await cli.ready();
    expect(cli.stdout()).toMatch(/threads\s+2\s/);

    const threadOf = new Map<string, number>();
    for (let i = 0; i < 16; i++) threadOf.set(`room-${i}`, (await getJson(`${url}/agents/room/room-${i}`)).thread as number);
    expect(new Set(threadOf.values()).size).toBe(2);
    // Again, over new connections (which the kernel spreads over the threads): same thread, next count.
    for (const [name, thread] of threadOf) expect(await getJson(`${url}/agents/room/${name}`)).toEqual({ count: 2, thread });

    // An agent calls another by name, wherever it runs.
    const [caller, callerThread] = [...threadOf][0]!;
    const [callee, calleeThread] = [...threadOf].find(([, thread]) => thread !== callerThread)!;
    expect(await getJson(`${url}/agents/room/${caller}?relay=${callee}`)).toEqual({ me: callerThread, other: calleeThread });

    // Logs of an agent on either thread carry the request id the client sent, whichever thread it reached.
    for (const name of [...threadOf.keys()].slice(0, 4)) {
      const response = await fetch(`${url}/agents/room/${name}?log`, { headers: { "x-request-id": `req-${name}`, connection: "close" } });
      expect(response.status).toBe(200);
      const line = await cli.waitFor(new RegExp(`\\{[^\\n]*logged by /agents/room/${name}[^\\n]*\\}`));
      expect(JSON.parse(line[0])).toMatchObject({ agent: "Room", name, requestId: `req-${name}` });
    }

    // /metrics on any thread: every thread's series, labelled, as one valid exposition. A request is
    // counted once, by the agent's thread, whichever thread's server the kernel gave its connection
    // (a request for another thread's agent is handed over before anything is measured).
    // The label is the thread's index (0: the main thread); an agent knows Node's threadId, which also
    // counts other workers the process started (a loader's hooks thread), so map by order.
    const threadIds = [...new Set(threadOf.values())].sort((a, b) => a - b);
    const labelOf = (name: string) => String(threadIds.indexOf(threadOf.get(name)!));
    const madeTo = new Map<string, number>();
    const made = (name: string, times: number) => madeTo.set(labelOf(name), (madeTo.get(labelOf(name)) ?? 0) + times);
    for (const name of threadOf.keys()) made(name, 2);
    made(caller, 1);
    for (const name of [...threadOf.keys()].slice(0, 4)) made(name, 1);
    for (let i = 0; i < 4; i++) {
      const text = await (await fetch(`${url}/metrics`, { headers: { connection: "close" } })).text();
      const requests = parsePrometheusText(text).find((family) => family.name === "hearth_http_requests_total")!;
      expect(requests.samples.every((sample) => sample.labels.class === "Room")).toBe(true);
      const counted = new Map<string, number>();
      for (const sample of requests.samples) counted.set(sample.labels.thread!, (counted.get(sample.labels.thread!) ?? 0) + sample.value);
      expect(counted).toEqual(madeTo);
    }

    // WebSockets, whichever thread accepted the connection: one that reached the other thread moved
    // there whole, so none is relayed while they are open (decision 0025).
    const sockets: TestSocket[] = [];
    for (const [name, thread] of [...threadOf].slice(0, 12)) {
      const socket = await TestSocket.open(`${url.replace("http", "ws")}/agents/room/${name}`);
      const state = await socket.waitForType("cf_agent_state");
      expect(state.state).toEqual({ count: 2 });
      expect((await socket.call("bump")).result).toEqual({ count: 3, thread });
      sockets.push(socket);
    }
    const families = parsePrometheusText(await (await fetch(`${url}/metrics`, { headers: { connection: "close" } })).text());
    const total = (family: string) => families.find((f) => f.name === family)!.samples.reduce((sum, sample) => sum + sample.value, 0);
    expect(total("hearth_thread_websockets_relayed")).toBe(0);
    expect(families.some((family) => family.name === "hearth_thread_connections_moved_total")).toBe(true);
    for (const socket of sockets) {
      socket.close();
      await socket.waitClosed();
    }
    await stop(cli);

    // One thread again, same data: every agent kept its state.
    const single = runCli(["start", APP, "--threads", "1", "--port", "0", "--data", dataDir]);
    const singleUrl = await single.ready();
    expect(single.stdout()).not.toMatch(/threads\s/);
    for (const name of [...threadOf.keys()].slice(0, 6)) expect((await getJson(`${singleUrl}/agents/room/${name}`)).count).toBe(4);
    await stop(single);
  });

  it("stops every thread's listening before any thread's agents: requests during a shutdown are answered or refused, never a 500", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "hearth-threads-"));
    const cli = runCli(["start", APP, "--threads", "2", "--port", "0", "--data", dataDir]);
    const url = await cli.ready();
    // Names on both threads; each request on a new connection (the kernel spreads those over the threads).
    const names = Array.from({ length: 8 }, (_, i) => `stopping-${i}`);
    const statuses = new Map<number, number>();
    let refused = 0;
    let sending = true;
    const loop = async (name: string) => {
      while (sending) {
        try {
          const response = await fetch(`${url}/agents/room/${name}`, { headers: { connection: "close" } });
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        } catch {
          refused++; // the listener closed, or the connection was cut: the client retries elsewhere
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    };
    const loops = names.map(loop);
    // Traffic on both threads before the stop (how fast it comes is not what is tested: a loaded machine is slow).
    await expect.poll(() => statuses.get(200) ?? 0, { timeout: 20_000 }).toBeGreaterThan(50);
    // Events still running on both threads keep the threads stopping for a while after the signal.
    for (const name of names) void fetch(`${url}/agents/room/${name}?wait=1500`).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    cli.proc.kill("SIGTERM");
    expect((await cli.exited()).code).toBe(0);
    sending = false;
    await Promise.all(loops);
    expect([...statuses.keys()]).toEqual([200]);
    expect(refused).toBeGreaterThan(0);
  }, 60_000);

  it("stops in time when agents on every thread are busy: the threads' hosts wait for their work together, not one after another", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "hearth-threads-"));
    const cli = runCli(["start", APP, "--threads", "2", "--port", "0", "--data", dataDir]);
    const url = await cli.ready();
    const threads = new Set<number>();
    for (let i = 0; threads.size < 2 && i < 64; i++) {
      const name = `busy-${i}`;
      threads.add(Number((await getJson(`${url}/agents/room/${name}?count`)).thread));
      // Longer than a host waits for running work (5 s): each host waits its whole drain.
      void fetch(`${url}/agents/room/${name}?wait=30000`).catch(() => {});
    }
    expect(threads.size).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    cli.proc.kill("SIGTERM");
    // Past its limit on stopping (10 s) the CLI gives up with exit code 1.
    expect((await cli.exited()).code).toBe(0);
    expect(cli.stderr()).not.toMatch(/did not stop/);
  });

  it("reports a crash of another thread's code once, with its stack, and stops", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "hearth-threads-"));
    const cli = runCli(["start", APP, "--threads", "2", "--port", "0", "--data", dataDir]);
    const url = await cli.ready();
    let name = "";
    for (let i = 0; i < 64 && name === ""; i++) if (Number((await getJson(`${url}/agents/room/crash-${i}?count`)).thread) !== 0) name = `crash-${i}`;
    expect(name).not.toBe("");
    await fetch(`${url}/agents/room/${name}?crash`).catch(() => {});
    expect((await cli.exited()).code).toBe(1);
    const stderr = cli.stderr();
    expect(stderr.match(/stopped unexpectedly/g)).toHaveLength(1);
    expect(stderr).toMatch(/Error: a crash outside any event\n\s+at .*threads-app\.ts:\d+/);
  });

  it("fires schedules made under one thread count after a restart with another (2 → 1 → 2)", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "hearth-threads-"));
    const timers = (round: number) => Array.from({ length: 6 }, (_, i) => `timer-${round}-${i}`);
    // Fired timers are read from a file the agents append to: asking an agent would wake it, and a
    // woken agent re-arms its own schedules, which would hide a stale index.
    const firedLog = join(dataDir, "fired.log");
    const env = cleanEnv({ FIRED_LOG: firedLog });
    const waitFired = async (names: string[]) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const fired = existsSync(firedLog) ? readFileSync(firedLog, "utf8").split("\n") : [];
        if (names.every((name) => fired.includes(name))) return;
        if (Date.now() > deadline) throw new Error(`not all of ${names.join(", ")} fired: ${fired.join(", ")}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const schedule = async (url: string, names: string[]) => {
      for (const name of names) expect(await getJson(`${url}/agents/room/${name}?later=2`)).toEqual({ scheduled: true });
    };
    const threadedRun = async (round: number, fire: number | undefined): Promise<void> => {
      const cli = runCli(["start", APP, "--threads", "2", "--port", "0", "--data", dataDir], { env });
      const url = await cli.ready();
      expect(cli.stdout()).toMatch(/threads\s+2\s/);
      if (fire !== undefined) await waitFired(timers(fire));
      await schedule(url, timers(round));
      await stop(cli);
    };
    await threadedRun(1, undefined);
    // One thread: round 1 fires from its own index, rebuilt from the agents' files; round 2 goes into it.
    const single = runCli(["start", APP, "--threads", "1", "--port", "0", "--data", dataDir], { env });
    const singleUrl = await single.ready();
    await waitFired(timers(1));
    await schedule(singleUrl, timers(2));
    await stop(single);
    // Two threads again: the threads' old indexes never saw round 2; they are rebuilt, and it fires.
    await threadedRun(3, 2);
  });

  it("runs an entry's workflows on the first thread for requests reaching either, and refuses bad thread counts", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "hearth-threads-"));
    const workflows = runCli(["start", join("test", "cli", "fixtures", "workflow-app.ts"), "--threads", "2", "--port", "0", "--data", dataDir]);
    const url = await workflows.ready();
    // Each request on a new connection: the kernel spreads them over both threads.
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(((await (await fetch(`${url}/?id=brew-${i}`, { method: "POST", headers: { connection: "close" } })).json()) as { id: string }).id);
    expect(ids).toEqual(Array.from({ length: 6 }, (_, i) => `brew-${i}`));
    for (const id of ids) {
      let status: { status: string; output?: unknown } = { status: "unknown" };
      for (const deadline = Date.now() + 15_000; status.status !== "complete" && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
        status = (await (await fetch(`${url}/?id=${id}`, { headers: { connection: "close" } })).json()) as typeof status;
      }
      expect(status).toMatchObject({ status: "complete", output: "2 cups ground, brewed" });
    }
    await stop(workflows);
    // Side by side: each is refused before it opens the data directory.
    const refused = ["0", "65", "two"].map((bad) => runCli(["start", APP, "--threads", bad, "--data", dataDir]));
    for (const cli of refused) {
      expect((await cli.exited()).code).toBe(2);
      expect(cli.stderr()).toContain("--threads must be a number of threads from 1 to 64 (MAX_SHARDS)");
    }
  });
});
