import { join, resolve } from "node:path";
import { currentBootStamp } from "./agent-file-setup.ts";
import { settleLeftovers } from "./settle.ts";
import { takeOverUnsettledLogs } from "./unsettled-log.ts";

export { settleQueuedFiles } from "./settle.ts";

/**
 * A host starting on `dataDir`: the files processes that are gone left unsettled (listed in their
 * logs) are settled in the background, whether or not this one creates agents, so that a reboot later
 * does not take them for torn (docs/decisions/0016-agent-files.md). Only the names in the agents
 * folder are read before it returns; `Host.close()` waits for the rest (`settleQueuedFiles`).
 * @example settleLeftAgentFiles(".hearth");
 */
export function settleLeftAgentFiles(dataDir: string): void {
  const stamp = currentBootStamp();
  if (stamp !== 0) takeOverUnsettledLogs(join(resolve(dataDir), "agents"), stamp, settleLeftovers);
}
