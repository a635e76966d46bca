/**
 * A worker thread that is one shard of `hearth start --threads N`: the same server as the first
 * thread's (entry, host, bindings, HTTP on the shared port) for the agents that hash to it. See threads.ts.
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { Shard } from "../shards/shard.ts";
import { CliError, describeUnexpected } from "./errors.ts";
import { startServer } from "./server.ts";
import type { ShardServeMessage, ShardThreadData, ShardThreadReport } from "./threads.ts";
import { logUnhandledRejections } from "./unhandled-rejections.ts";

const data = workerData as ShardThreadData;
const report = (message: ShardThreadReport): void => parentPort!.postMessage(message);
const shard = new Shard({ index: data.index, count: data.count, ports: new Map(data.ports) });

// Loaded, it waits for the first thread to listen: the port is the one they share.
const serve = await new Promise<ShardServeMessage>((resolve) => parentPort!.once("message", resolve));

try {
  const running = await startServer({ ...data.options, port: serve.port }, data.cwd, { shard, threads: data.count, inspectorPeer: serve.inspectorPeer });
  // A thread has its own process-level events: once it serves, one agent's unhandled rejection must not end it.
  logUnhandledRejections();
  parentPort!.on("message", (message: { type: string }) => {
    if (message.type === "stop-serving") {
      void (running.stopServing?.() ?? Promise.resolve())
        .catch((error: unknown) => process.stderr.write(`hearth: thread ${data.index} stopped serving with an error: ${describeUnexpected(error)}\n`))
        .finally(() => report({ type: "stopped-serving" }));
      return;
    }
    if (message.type !== "stop") return;
    void running
      .stop()
      .catch((error: unknown) => process.stderr.write(`hearth: thread ${data.index} stopped with an error: ${describeUnexpected(error)}\n`))
      .finally(() => {
        shard.close();
        report({ type: "stopped" });
        parentPort!.close();
      });
  });
  report({ type: "ready" });
} catch (error) {
  shard.close();
  report(error instanceof CliError ? { type: "failed", kind: error.kind, message: error.message } : { type: "failed", kind: "startup", message: describeUnexpected(error) });
}
