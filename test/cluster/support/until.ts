/**
 * Reads `read()` until `done(value)` holds and answers that value; fails after 20 s naming `what` and
 * the last value read.
 * @example
 * const status = await until("the run", () => desk.status("r1"), (s) => s.status === "completed");
 */
export async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
