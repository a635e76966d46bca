import type { Identity } from "./handshake.ts";

/** Called when a reconnect reaches a different instance than before. */
export type IdentityChangeHandler = (oldName: string, newName: string, oldAgent: string, newAgent: string) => void;

/**
 * Remembers which instance a connection reached and reports when a later
 * connection to the same address reaches another one: possible when the
 * server picks the instance (`basePath` routing by session). Without a
 * handler the change is logged as a warning, as the Agents SDK does.
 *
 * @example
 * ```ts
 * const identities = new IdentityHistory();
 * identities.record({ name: "alice", agent: "user-agent" }, onIdentityChange);
 * identities.record({ name: "bob", agent: "user-agent" }, onIdentityChange); // onIdentityChange("alice", "bob", …)
 * ```
 */
export class IdentityHistory {
  #previous: Identity | null = null;

  /** Records the identity a connection announced; reports a change from the previous one. */
  record(next: Identity, onChange: IdentityChangeHandler | undefined): void {
    const previous = this.#previous;
    this.#previous = { name: next.name, agent: next.agent };
    if (previous === null || (previous.name === next.name && previous.agent === next.agent)) return;
    if (onChange) return onChange(previous.name, next.name, previous.agent, next.agent);
    const changes = [
      previous.agent === next.agent ? null : `agent "${previous.agent}" → "${next.agent}"`,
      previous.name === next.name ? null : `instance "${previous.name}" → "${next.name}"`,
    ].filter((change) => change !== null);
    console.warn(
      `[hearth/client] The connection reached another agent after reconnecting: ${changes.join(", ")}. ` +
        "This happens when the server chooses the instance (basePath routing by session); pass onIdentityChange to handle it.",
    );
  }

  /** Forgets the previous identity (the address changed, so a different instance is expected). */
  reset(): void {
    this.#previous = null;
  }
}
