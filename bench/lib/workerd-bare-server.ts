/**
 * The ceiling of bench/workerd-compare.ts: a bare node:http server in a process of its own (as Hearth
 * and workerd are), answering every request with the same small JSON body. No Hearth, no fetch API
 * objects, no storage: what this machine's HTTP layer carries under the same load generator.
 * Started by {@link startBareServer}; reports its port over IPC and runs until it is stopped.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const BODY = '{"count":1}';

const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json", "content-length": BODY.length });
    response.end(BODY);
  });
});
server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as AddressInfo).port }));
// The parent going away (or stopping this process) ends it.
process.on("disconnect", () => process.exit(0));
