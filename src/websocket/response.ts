import { isUpgradeStandIn, markUpgrade } from "./upgrade-stand-in.ts";
import { isWorkersWebSocket, type WorkersWebSocket } from "./socket.ts";

const sockets = new WeakMap<Response, WorkersWebSocket>();

/** The WebSocket a `101` response carries, if any. */
export function webSocketOfResponse(response: Response): WorkersWebSocket | undefined {
  return sockets.get(response);
}

/** `ResponseInit` as the Workers runtime takes it. */
export interface WorkersResponseInit extends ResponseInit {
  webSocket?: WorkersWebSocket | null;
}

/**
 * The global `Response` with the Workers runtime's one addition: `new Response(null, { status: 101,
 * webSocket: client })` accepts a WebSocket upgrade. Node's Response refuses status 101, so the object
 * is built as a 200 and reports 101; the server completes the upgrade. Every other Response (fetch
 * results included) still passes `instanceof Response`.
 */
export function workersResponseClass(base: typeof Response): typeof Response {
  class WorkersResponse extends base {
    constructor(body?: BodyInit | null, init?: WorkersResponseInit) {
      const webSocket: unknown = init?.webSocket ?? null;
      if (init?.status === 101) {
        const agents = isUpgradeStandIn(webSocket);
        if (!agents && !isWorkersWebSocket(webSocket)) {
          throw new TypeError("A 101 response needs a webSocket: the client end of a WebSocketPair (new Response(null, { status: 101, webSocket: client }))");
        }
        if (body !== null && body !== undefined) throw new TypeError("A 101 response cannot have a body");
        // Read member by member: `init` may be a 101 Response being copied (`new Response(res.body, res)`),
        // whose headers and statusText are getters a spread would not see.
        super(null, { status: 200, statusText: init.statusText, headers: init.headers });
        // An agent's upgrade (routeAgentRequest, stub.fetch) goes with its webSocket to the copy.
        if (agents) markUpgrade(this, webSocket);
        else sockets.set(this, webSocket as WorkersWebSocket);
        return;
      }
      if (webSocket !== null) throw new TypeError("webSocket can only be set on a response with status 101");
      super(body, init);
    }

    override get status(): number {
      return sockets.has(this) ? 101 : super.status;
    }

    override get ok(): boolean {
      return sockets.has(this) ? false : super.ok;
    }

    /** The client end of the WebSocket this 101 response accepts, or null. */
    get webSocket(): WorkersWebSocket | null {
      return sockets.get(this) ?? null;
    }

    static [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof base;
    }
  }
  Object.defineProperty(WorkersResponse, "name", { value: "Response" });
  return WorkersResponse;
}
