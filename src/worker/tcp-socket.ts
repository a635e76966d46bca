import { connect } from "node:net";
import { Duplex } from "node:stream";

/** Where a socket is connected (Cloudflare's `SocketInfo`). */
export interface SocketInfo {
  remoteAddress?: string;
  localAddress?: string;
}

/** A TCP connection with the shape of Cloudflare's `Socket` (`cloudflare:sockets`): web streams both ways. */
export interface TcpSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Settles once connected, or rejects with why it could not be. */
  readonly opened: Promise<SocketInfo>;
  /** Settles once the connection has closed; rejects when it ended on an error. */
  readonly closed: Promise<void>;
  readonly upgraded: boolean;
  readonly secureTransport: "off";
  /** Closes both directions; resolves as {@link closed} does. */
  close(): Promise<void>;
  /** Not offered: a driver given the connection string negotiates TLS itself. */
  startTls(): never;
}

/**
 * Opens a plain TCP connection to `host:port`, as `connect()` of `cloudflare:sockets` does. Nothing
 * needs to wait on `opened` or `closed`: an error nobody awaits is not an unhandled rejection.
 */
export function openTcpSocket(host: string, port: number): TcpSocket {
  const socket = connect({ host, port });
  const { readable, writable } = Duplex.toWeb(socket) as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  const address = (ip: string | undefined, at: number | undefined): string | undefined => (ip === undefined ? undefined : `${ip}:${at ?? ""}`);
  const opened = new Promise<SocketInfo>((resolve, reject) => {
    socket.once("connect", () => {
      const info: SocketInfo = {};
      const remote = address(socket.remoteAddress, socket.remotePort);
      const local = address(socket.localAddress, socket.localPort);
      if (remote !== undefined) info.remoteAddress = remote;
      if (local !== undefined) info.localAddress = local;
      resolve(info);
    });
    socket.once("error", reject);
  });
  let failure: Error | undefined;
  socket.once("error", (error) => (failure = error));
  const closed = new Promise<void>((resolve, reject) => socket.once("close", () => (failure === undefined ? resolve() : reject(failure))));
  opened.catch(() => undefined);
  closed.catch(() => undefined);
  return {
    readable,
    writable,
    opened,
    closed,
    upgraded: false,
    secureTransport: "off",
    close: () => {
      socket.destroy();
      return closed;
    },
    startTls: () => {
      throw new Error("startTls() is not offered by Hearth's sockets: give your database driver the connection string, and it negotiates TLS itself");
    },
  };
}
