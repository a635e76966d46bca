/**
 * The `webSocket` of an upgrade the server completes later (an agent's: its end is made when the
 * handshake is done), and the Response that carries it. A web-standard Response cannot carry a
 * socket (status 101 is not constructible), so such a Response is built as a 200 and made to report
 * 101 and the stand-in, as a Durable Object's 101 does: `res.status === 101` holds, and a copy
 * (`new Response(res.body, res)`, or `new Response(null, { status: 101, webSocket: res.webSocket,
 * headers })` under the Workers globals) still upgrades. The target is the layer above's to define.
 */

const targets = new WeakMap<Response, object>();
const standIns = new WeakMap<object, object>();

/** Stands for a socket that does not exist yet: it cannot be used as one. */
class UpgradeStandIn {
  readonly readyState = 0;
  accept(): never {
    throw notASocket("accept");
  }
  send(): never {
    throw notASocket("send");
  }
  close(): never {
    throw notASocket("close");
  }
}

function notASocket(method: string): TypeError {
  return new TypeError(
    `${method}() on the webSocket of an agent's upgrade response: the agent's socket is connected to the client when the worker returns this response (or a copy of it: new Response(res.body, res), or new Response(null, { status: 101, webSocket: res.webSocket, headers }))`,
  );
}

/** A stand-in for the socket of an upgrade to `target`. */
export function newUpgradeStandIn(target: object): object {
  const standIn = Object.freeze(new UpgradeStandIn());
  standIns.set(standIn, target);
  return standIn;
}

/**
 * Makes `response` (built as a 200 with no body) the upgrade `webSocket` stands for: it reports 101
 * and that `webSocket`. For the Response constructor, given a 101 with a stand-in.
 */
export function markUpgrade(response: Response, webSocket: object): Response {
  const target = standIns.get(webSocket);
  if (target === undefined) throw new TypeError("Not the webSocket of an agent's upgrade response");
  targets.set(response, target);
  Object.defineProperties(response, {
    status: { get: () => 101, configurable: true },
    ok: { get: () => false, configurable: true },
    webSocket: { get: () => webSocket, configurable: true },
  });
  return response;
}

/** True for the `webSocket` of an upgrade response made here. */
export function isUpgradeStandIn(value: unknown): value is object {
  return typeof value === "object" && value !== null && standIns.has(value);
}

/** The target of an upgrade response made here, or undefined. */
export function standInTargetOf(response: Response): object | undefined {
  return targets.get(response);
}
