/**
 * The symbols the host and the layers of an agent call each other by: entry points kept off the
 * public surface of `Agent`.
 */
/** @internal Entry points the host calls. Symbols keep them off the public surface. */
const START: unique symbol = Symbol("hearth.start");
const REQUEST: unique symbol = Symbol("hearth.request");
const CONNECT: unique symbol = Symbol("hearth.connect");
const MESSAGE: unique symbol = Symbol("hearth.message");
const CLOSE: unique symbol = Symbol("hearth.close");
const INVOKE: unique symbol = Symbol("hearth.invoke");
const INVALIDATE: unique symbol = Symbol("hearth.invalidate");
const TASKS: unique symbol = Symbol("hearth.tasks");
const UNLOAD: unique symbol = Symbol("hearth.unload");
const SCOPED: unique symbol = Symbol("hearth.scoped");
const SOCKET_ERROR: unique symbol = Symbol("hearth.socketError");
const OPEN_CHILD: unique symbol = Symbol("hearth.openChild");
const WIPED: unique symbol = Symbol("hearth.wiped");
/** @internal */
export const AGENT_RUNTIME: unique symbol = Symbol("hearth.agentRuntime");
/** @internal */
export const REPORT_ERROR: unique symbol = Symbol("hearth.reportError");
/** @internal */
export const MCP_STATE: unique symbol = Symbol("hearth.mcpState");
/** @internal */
export const AGENT_OPTIONS: unique symbol = Symbol("hearth.agentOptions");
export const HANDLE = {
  start: START,
  request: REQUEST,
  connect: CONNECT,
  message: MESSAGE,
  close: CLOSE,
  invoke: INVOKE,
  invalidate: INVALIDATE,
  tasks: TASKS,
  unload: UNLOAD,
  scoped: SCOPED,
  socketError: SOCKET_ERROR,
  openChild: OPEN_CHILD,
  wiped: WIPED,
} as const;
