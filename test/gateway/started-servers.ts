/**
 * Servers a test file starts, each with a Host of its own on a temporary data dir; every one is
 * closed (server, then host) and its data dir removed after each test.
 */
import { afterEach } from "vitest";
import { Host, serve, type HearthServer } from "../../src/index.ts";
import { tempDir } from "../support/harness.ts";

type HostAgents = ConstructorParameters<typeof Host>[0]["agents"];
type ServeOptions = Omit<Parameters<typeof serve>[0], "host" | "port">;

/**
 * Call once at the top of a test file; returns what starts a server on a free port.
 * @example const start = startedServers(); const server = await start({ Probe }, { fetch: worker });
 */
export function startedServers(): (agents: HostAgents, options?: ServeOptions) => Promise<HearthServer> {
  const running: Array<{ host: Host; server: HearthServer; dir: ReturnType<typeof tempDir> }> = [];
  afterEach(async () => {
    for (const { server, host, dir } of running.splice(0)) {
      await server.close();
      await host.close();
      dir.remove();
    }
  });
  return async (agents, options = {}) => {
    const dir = tempDir();
    const host = new Host({ dataDir: dir.path, agents });
    const server = await serve({ host, port: 0, ...options });
    running.push({ host, server, dir });
    return server;
  };
}
