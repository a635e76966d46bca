/**
 * A 101 handed to no running handler is dropped once its client end is garbage-collected unused. The
 * registry that watches it must not keep an accepted client end alive: such an end points back at its
 * object, so holding the end strongly would keep both for ever.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { handOut } from "../../src/websocket/handed-out.ts";
import { workersResponseClass } from "../../src/websocket/response.ts";
import { WebSocketPair } from "../../src/websocket/socket.ts";

const WorkersResponse = workersResponseClass(Response);

describe("a 101 handed to no handler", () => {
  it("lets an accepted, closed one be collected (the registry keeps nothing of it alive)", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    let collected = 0;
    for (let trial = 0; trial < 5; trial++) {
      let ref: WeakRef<object> | undefined;
      (() => {
        const { 0: client, 1: server } = new WebSocketPair();
        server.accept();
        handOut(new WorkersResponse(null, { status: 101, webSocket: client } as ResponseInit) as Response);
        client.accept();
        client.addEventListener("message", () => {});
        client.close(1000, "done");
        ref = new WeakRef(client);
      })();
      for (let round = 0; round < 10; round++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (ref!.deref() === undefined) collected++;
    }
    expect(collected).toBe(5);
  });
});
