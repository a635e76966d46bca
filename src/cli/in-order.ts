/**
 * Runs every step in order, each even when an earlier one failed (a shutdown must still close what
 * comes after), then throws the first failure.
 */
export async function runInOrder(steps: ReadonlyArray<() => unknown>): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
