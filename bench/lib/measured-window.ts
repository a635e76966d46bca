/**
 * The measured seconds of a load generator: a warm-up, then `duration` seconds during which
 * `measuring` is true, with the server's CPU time (when its pid is given) and the generator's own.
 */
import { usageOf } from "./do-server.ts";

export interface MeasuredWindow {
  /** Seconds actually measured. */
  seconds: number;
  /** CPU seconds the server process used meanwhile (with `serverPid`, on Linux). */
  serverCpuSeconds: number | undefined;
  /** CPU seconds this process (the load generator) used meanwhile. */
  clientCpuSeconds: number;
}

/**
 * Waits `warmup` seconds, calls `measuring(true)`, waits `duration` seconds, calls `measuring(false)`.
 * @example const window = await measureWindow(input, (on) => (measuring = on));
 */
export async function measureWindow(
  input: { warmup: number; duration: number; serverPid?: number },
  measuring: (on: boolean) => void,
): Promise<MeasuredWindow> {
  const serverCpu = () => (input.serverPid === undefined ? undefined : usageOf(input.serverPid)?.cpuSeconds);
  await new Promise((resolve) => setTimeout(resolve, input.warmup * 1000));
  const serverBefore = serverCpu();
  const clientBefore = process.cpuUsage();
  measuring(true);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, input.duration * 1000));
  measuring(false);
  const seconds = (performance.now() - start) / 1000;
  const client = process.cpuUsage(clientBefore);
  const serverAfter = serverCpu();
  return {
    seconds,
    serverCpuSeconds: serverBefore !== undefined && serverAfter !== undefined ? serverAfter - serverBefore : undefined,
    clientCpuSeconds: (client.user + client.system) / 1e6,
  };
}
