import { vi } from "vitest";

/**
 * What `console.error` is given from now on, as text (errors by their message), kept from the test's
 * output; `restore()` puts console.error back. A 500 tells the client nothing of an exception: its
 * log line is where a test finds it.
 * @example const errors = loggedErrors(); …; expect(errors.text()).toContain("db down"); errors.restore();
 */
export function loggedErrors(): { text(): string; restore(): void } {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    lines.push(args.map((arg) => (arg instanceof Error ? `${arg.name}: ${arg.message}` : String(arg))).join(" "));
  });
  return { text: () => lines.join("\n"), restore: () => spy.mockRestore() };
}
