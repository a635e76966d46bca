import type { IdentityFrame } from "./frames.ts";

/** The instance a connection reached, as announced by the server. */
export interface Identity {
  name: string;
  agent: string;
}

/**
 * Tracks the frames a server sends right after a connection opens and says
 * when the connection is ready: on `cf_agent_identity`, or, when that frame
 * carries `stateFollows: true`, once the first `cf_agent_state` arrived too.
 * Call {@link Handshake.reset} when the connection closes.
 *
 * @example
 * ```ts
 * const handshake = new Handshake();
 * const ready = handshake.identity({ type: "cf_agent_identity", name: "a", agent: "counter" });
 * if (ready) console.log(`connected to ${ready.agent}/${ready.name}`);
 * ```
 */
export class Handshake {
  #stateSeen = false;
  #waiting: Identity | null = null;

  /** Records an identity frame; returns the identity when the connection is now ready. */
  identity(frame: IdentityFrame): Identity | undefined {
    const identity = { name: frame.name, agent: frame.agent };
    if (frame.stateFollows === true && !this.#stateSeen) {
      this.#waiting = identity;
      return undefined;
    }
    return identity;
  }

  /** Records a state frame; returns an identity that was waiting for it, if any. */
  state(): Identity | undefined {
    this.#stateSeen = true;
    const waiting = this.#waiting;
    this.#waiting = null;
    return waiting ?? undefined;
  }

  /** Forgets the current connection's progress. */
  reset(): void {
    this.#stateSeen = false;
    this.#waiting = null;
  }
}
