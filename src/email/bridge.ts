import { randomUUID } from "node:crypto";
import { readStreamBytesUpTo } from "../gateway/bounded-body.ts";
import { EmailError } from "./errors.ts";
import { toHeaders } from "./headers.ts";
import { InboundEmail } from "./inbound-email.ts";
import { EMAIL_LIMITS } from "./limits.ts";
import type { AgentEmail, ForwardableEmailMessage } from "./types.ts";

/**
 * What crosses from routeAgentEmail to the agent: plain data (agent calls copy their arguments).
 * The message itself stays here, under `bridge`, until the delivery ends — the way Cloudflare
 * hands the agent an RPC target for it.
 */
export interface AgentEmailPayload {
  bridge: string;
  from: string;
  to: string;
  headers: [string, string][];
  rawSize: number;
  secureRouted: boolean;
}

interface LiveEmail {
  readonly message: ForwardableEmailMessage;
  raw: Promise<Uint8Array> | undefined;
}

const live = new Map<string, LiveEmail>();

/** Registers a message being delivered; `close` when the agent has handled it. */
export function openBridge(message: ForwardableEmailMessage): { id: string; close(): void } {
  const id = randomUUID();
  live.set(id, { message, raw: undefined });
  return { id, close: () => void live.delete(id) };
}

function liveEmail(id: string, action: string): LiveEmail {
  const entry = live.get(id);
  if (!entry) {
    throw new EmailError("delivery_over", `Cannot ${action}: the delivery of this email is over (use it only while onEmail runs; to write later, use this.sendEmail)`);
  }
  return entry;
}

/** The agent's view of a routed message. */
export function agentEmailFrom(payload: AgentEmailPayload): AgentEmail {
  const { bridge } = payload;
  return {
    from: payload.from,
    to: payload.to,
    headers: toHeaders(payload.headers.map(([key, value]) => ({ key, value }))),
    rawSize: payload.rawSize,
    ...(payload.secureRouted ? { _secureRouted: true } : {}),
    getRaw: async () => {
      const entry = liveEmail(bridge, "read the message");
      // One copy, the agent's own: of the received bytes, or of a foreign message's stream read once.
      const received = InboundEmail.bytesOf(entry.message);
      if (received) return received.slice();
      entry.raw ??= readStreamBytesUpTo(entry.message.raw, Math.max(EMAIL_LIMITS.maxEmailBytes, entry.message.rawSize)).then((bytes) => {
        if (!bytes) throw new EmailError("limit", `The message is larger than ${EMAIL_LIMITS.maxEmailBytes} bytes (maxEmailBytes)`);
        return bytes;
      });
      return (await entry.raw).slice();
    },
    setReject: (reason) => liveEmail(bridge, "reject").message.setReject(reason),
    forward: (rcptTo, headers) => liveEmail(bridge, "forward").message.forward(rcptTo, headers),
    reply: async (message) => liveEmail(bridge, "reply").message.reply(message),
  };
}
