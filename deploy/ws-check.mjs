// Opens a WebSocket to one agent through a URL (e.g. the TLS proxy), waits for the agent's state
// frame, makes one RPC (`increment`) and prints the reply. Exits 1 on any failure or after 15 s.
// Usage: node deploy/ws-check.mjs wss://127.0.0.1:8443/agents/counter/alice [ca.pem]
import console from "node:console";
import { readFileSync } from "node:fs";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";
import WebSocket from "ws";

const [url, caFile] = process.argv.slice(2);
if (!url) {
  console.error("usage: ws-check.mjs <ws(s)://host/agents/<class>/<name>> [ca.pem]");
  process.exit(2);
}
const socket = new WebSocket(url, caFile ? { ca: readFileSync(caFile) } : {});
const fail = (why) => {
  console.error(`ws-check: ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("no RPC reply within 15 s"), 15_000);
let called = false;

socket.on("error", (error) => fail(error.message));
socket.on("message", (data) => {
  const frame = JSON.parse(String(data));
  if (frame.type === "cf_agent_state" && !called) {
    called = true;
    console.log(`ws-check: connected, state ${JSON.stringify(frame.state)}`);
    socket.send(JSON.stringify({ type: "rpc", id: "check-1", method: "increment", args: [10] }));
  } else if (frame.type === "rpc" && frame.id === "check-1" && frame.done !== false) {
    clearTimeout(timer);
    if (!frame.success) fail(`RPC failed: ${frame.error}`);
    console.log(`ws-check: rpc increment(10) -> ${JSON.stringify(frame.result)}`);
    socket.close(1000);
    socket.on("close", () => process.exit(0));
  }
});
