/** CPU profiles of chosen stretches of a benchmark (not its setup), through the inspector protocol. */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";

/**
 * Returns `start(label, part)`: starts profiling and returns `stop()`, which writes
 * `<dir>/<label>-<part>.cpuprofile` (open it in Chrome DevTools or speedscope).
 * @example
 * const stop = windowProfiler("/tmp/prof")("disk", "live");
 * await work();
 * await stop();
 */
export function windowProfiler(dir: string): (label: string, part: string) => () => Promise<void> {
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  return (label, part) => {
    const started = session.post("Profiler.enable").then(() => session.post("Profiler.setSamplingInterval", { interval: 100 })).then(() => session.post("Profiler.start"));
    return async () => {
      await started;
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(join(dir, `${label.replace(/\W+/g, "-")}-${part}.cpuprofile`), JSON.stringify(profile));
    };
  };
}
