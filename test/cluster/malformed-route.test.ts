import { afterAll, describe, expect, test } from "vitest";
import { CLUSTER_HEADERS, CLUSTER_PATH_PREFIX } from "../../src/cluster/wire.ts";
import { Agent } from "../../src/index.ts";
import { postgresUnavailable } from "../support/postgres.ts";
import { startInProcessCluster, type InProcessCluster } from "./support/in-process-cluster.ts";

/** A request between nodes whose path holds a malformed percent-escape is the sender's mistake: 400, not 500. */

class Plain extends Agent {
  override onRequest(): Response {
    return new Response("ok");
  }
}

let cluster: InProcessCluster | undefined;
afterAll(async () => cluster?.close(), 60_000);

describe.skipIf(postgresUnavailable() !== undefined)("an internal cluster route", () => {
  test("with a malformed percent-escape in the agent's name is answered 400 naming the problem", async () => {
    cluster = await startInProcessCluster({ agents: { Plain } }, 1);
    const [node] = cluster.nodes;
    const key = node!.node.inspectorAccess.key;
    for (const operation of ["agent", "invoke", "start"]) {
      const response = await fetch(`${node!.url}${CLUSTER_PATH_PREFIX}${operation}/Plain/%E0%A4%A`, { method: "POST", headers: { [CLUSTER_HEADERS.key]: key }, body: "x" });
      expect(response.status).toBe(400);
      expect(await response.text()).toBe(`Bad cluster route ${CLUSTER_PATH_PREFIX}${operation}/Plain/%E0%A4%A: a part of its path is not valid percent-encoded UTF-8`);
    }
    // Well-formed, it is served.
    const served = await fetch(`${node!.url}${CLUSTER_PATH_PREFIX}agent/Plain/${encodeURIComponent("é")}`, { headers: { [CLUSTER_HEADERS.key]: key } });
    expect(served.status).toBe(200);
    expect(await served.text()).toBe("ok");
  }, 60_000);
});
