import { types } from "node:util";
import type { SocketMessage } from "./events.ts";

/**
 * What `ws.send(value)` sends, converted as the Workers runtime converts its argument
 * (`ArrayBuffer | ArrayBufferView | string`, a Web IDL union): an ArrayBuffer or a view of one (a
 * typed array, a DataView, a Buffer) is a binary message holding a copy of its bytes, so changing the
 * buffer afterwards changes nothing that was sent; any other value is a text message of the value
 * converted to a string — `42` sends "42", `null` "null", a Blob "[object Blob]" (its contents are
 * not read). A Symbol cannot be converted to a string: TypeError.
 */
export function outgoingMessage(value: unknown): SocketMessage {
  if (typeof value === "string") return value;
  if (types.isArrayBuffer(value)) return value.slice(0);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice().buffer;
  if (typeof value === "symbol") throw new TypeError("WebSocket send(): a Symbol cannot be sent (it does not convert to a string)");
  return `${value as string}`;
}
