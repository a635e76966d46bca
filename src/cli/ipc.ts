import { isMainThread } from "node:worker_threads";
import type { BannerInfo } from "./banner.ts";
import type { CliErrorKind } from "./errors.ts";

/**
 * Set in the environment of the server child that `hearth dev` runs. The child then reports to the
 * parent over the IPC channel instead of printing its banner, and leaves Ctrl-C to the parent.
 */
export const SUPERVISED_ENV = "HEARTH_DEV_SUPERVISED";

/** Messages the server child sends to the `dev` parent. */
export type ChildMessage =
  | { type: "ready"; banner: Omit<BannerInfo, "command"> }
  | { type: "failed"; kind: CliErrorKind };

/**
 * Whether this process is a server child run by `hearth dev` (or one of its threads: a worker thread
 * has no IPC channel of its own, but the environment it inherits says so).
 */
export function isSupervised(): boolean {
  return process.env[SUPERVISED_ENV] === "1" && (typeof process.send === "function" || !isMainThread);
}

/** Sends a message to the `dev` parent; resolves once it is written (or at once without a channel). */
export function tellParent(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (typeof process.send !== "function" || !process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Narrows an IPC payload to a {@link ChildMessage}. */
export function isChildMessage(value: unknown): value is ChildMessage {
  if (typeof value !== "object" || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === "ready" || type === "failed";
}
