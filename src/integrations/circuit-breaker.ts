/**
 * A circuit breaker per host: after a run of consecutive failures a host is left alone for a
 * cool-down (requests fail at once instead of piling onto a service that is down), then one probe
 * request decides whether it is back.
 */
import { systemClock, type Clock } from "../time/clock.ts";

/** Settings of the breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failures (network errors, timeouts, HTTP 500/502/503/504) that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long an open circuit refuses requests before one probe is let through, in ms. Default 30 000. */
  coolDownMs?: number;
  /** Hosts tracked at once; the least recently used beyond this are forgotten. Default 10 000. */
  maxHosts?: number;
}

export const DEFAULT_CIRCUIT_BREAKER: Required<CircuitBreakerOptions> = Object.freeze({ failureThreshold: 5, coolDownMs: 30_000, maxHosts: 10_000 });

/** A host's circuit: closed (requests flow), open (refused until `openUntil`), half-open (one probe in flight). */
export interface CircuitState {
  state: "closed" | "open" | "half-open";
  /** Consecutive failures so far. */
  failures: number;
  /** While open: when the cool-down ends (epoch ms). */
  openUntil?: number;
  /** What the last failure was, e.g. "HTTP 503" or "fetch failed". */
  lastFailure?: string;
}

/** A request was not sent because the host's circuit is open (or half-open with its probe in flight). */
export class CircuitOpenError extends Error {
  override readonly name = "CircuitOpenError";
  readonly code = "CIRCUIT_OPEN";
  /** The host (and port, when not the default) whose circuit is open. */
  readonly host: string;
  /** When a probe will be let through (epoch ms). */
  readonly retryAt: number;
  /** Consecutive failures that opened it. */
  readonly failures: number;

  constructor(host: string, retryAt: number, failures: number, lastFailure: string | undefined, coolDownMs: number, halfOpen: boolean) {
    const why = `${failures} consecutive failures${lastFailure ? ` (last: ${lastFailure})` : ""}`;
    super(
      halfOpen
        ? `Circuit for ${host} is half-open after ${why}: one probe request is in flight, others are refused until it ends`
        : `Circuit for ${host} is open after ${why}: requests are refused until ${new Date(retryAt).toISOString()} (circuitBreaker.coolDownMs = ${coolDownMs})`,
    );
    this.host = host;
    this.retryAt = retryAt;
    this.failures = failures;
  }
}

interface HostCircuit {
  failures: number;
  openUntil: number | undefined;
  probing: boolean;
  lastFailure: string | undefined;
}

/**
 * The circuits of many hosts. One instance can be shared by several fetches (pass it as
 * `circuitBreaker.breakers`) so they see the same hosts as down.
 *
 * @example
 * const breakers = new CircuitBreakers({ failureThreshold: 3, coolDownMs: 10_000 });
 * const release = breakers.admit("api.example.com"); // throws CircuitOpenError while open
 * release(false, "HTTP 503"); // one failure recorded
 */
export class CircuitBreakers {
  readonly options: Required<CircuitBreakerOptions>;
  readonly #clock: Clock;
  readonly #hosts = new Map<string, HostCircuit>();

  constructor(options: CircuitBreakerOptions = {}, clock: Clock = systemClock) {
    this.options = resolveBreaker(options);
    this.#clock = clock;
  }

  /**
   * Lets a request to `host` through, or throws {@link CircuitOpenError}. The returned function
   * records how it went: `true` for a success, `false` (with what failed) for a failure, or
   * `undefined` for an outcome that says nothing about the host (the caller gave up).
   */
  admit(host: string): (ok: boolean | undefined, failure?: string) => void {
    const circuit = this.#touch(host);
    const now = this.#clock.now();
    let probe = false;
    if (circuit.openUntil !== undefined) {
      if (now < circuit.openUntil || circuit.probing) {
        throw new CircuitOpenError(host, circuit.openUntil, circuit.failures, circuit.lastFailure, this.options.coolDownMs, circuit.probing);
      }
      circuit.probing = probe = true;
    }
    let done = false;
    return (ok, failure) => {
      if (done) return;
      done = true;
      if (probe) circuit.probing = false;
      if (ok === undefined) return;
      if (ok) {
        circuit.failures = 0;
        circuit.openUntil = undefined;
        circuit.lastFailure = undefined;
        return;
      }
      circuit.failures++;
      circuit.lastFailure = failure;
      // A failed probe opens it again at once; otherwise the threshold decides.
      if (probe || circuit.failures >= this.options.failureThreshold) circuit.openUntil = this.#clock.now() + this.options.coolDownMs;
    };
  }

  /** The circuit of `host` as it is now. */
  state(host: string): CircuitState {
    const circuit = this.#hosts.get(host);
    if (!circuit) return { state: "closed", failures: 0 };
    const lastFailure = circuit.lastFailure === undefined ? {} : { lastFailure: circuit.lastFailure };
    if (circuit.openUntil === undefined) return { state: "closed", failures: circuit.failures, ...lastFailure };
    const state = circuit.probing || this.#clock.now() >= circuit.openUntil ? "half-open" : "open";
    return { state, failures: circuit.failures, openUntil: circuit.openUntil, ...lastFailure };
  }

  /** Closes the circuit of `host` (or of every host). */
  reset(host?: string): void {
    if (host === undefined) this.#hosts.clear();
    else this.#hosts.delete(host);
  }

  #touch(host: string): HostCircuit {
    let circuit = this.#hosts.get(host);
    if (circuit) {
      // Map order is insertion order: re-inserting keeps the most recently used last.
      this.#hosts.delete(host);
    } else {
      circuit = { failures: 0, openUntil: undefined, probing: false, lastFailure: undefined };
      if (this.#hosts.size >= this.options.maxHosts) this.#hosts.delete(this.#hosts.keys().next().value!);
    }
    this.#hosts.set(host, circuit);
    return circuit;
  }
}

function resolveBreaker(options: CircuitBreakerOptions): Required<CircuitBreakerOptions> {
  const resolved = { ...DEFAULT_CIRCUIT_BREAKER, ...definedOnly(options) };
  if (!Number.isInteger(resolved.failureThreshold) || resolved.failureThreshold < 1) {
    throw new RangeError(`circuitBreaker.failureThreshold must be an integer >= 1, got ${String(resolved.failureThreshold)}`);
  }
  if (!Number.isFinite(resolved.coolDownMs) || resolved.coolDownMs < 0) {
    throw new RangeError(`circuitBreaker.coolDownMs must be a finite number >= 0, got ${String(resolved.coolDownMs)}`);
  }
  if (!Number.isInteger(resolved.maxHosts) || resolved.maxHosts < 1) {
    throw new RangeError(`circuitBreaker.maxHosts must be an integer >= 1, got ${String(resolved.maxHosts)}`);
  }
  return resolved;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
