/**
 * CPU time of the current thread, in milliseconds: what a sandbox's `cpuMs` budget counts. Wall time
 * would charge a sandbox for time the machine spent elsewhere (other processes, a busy core), so a
 * loaded host would fail code that is within its budget. Falls back to the whole process's CPU time
 * where the thread's is not available (Node < 23.9).
 */
export const threadCpuMs: () => number =
  typeof process.threadCpuUsage === "function"
    ? () => {
        const { user, system } = process.threadCpuUsage();
        return (user + system) / 1000;
      }
    : () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1000;
      };
