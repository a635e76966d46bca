// A chat with an AIChatAgent over its agent socket, without a framework: the stored conversation
// from GET …/get-messages, a turn sent as a `cf_agent_use_chat_request` frame, the answer shown as
// its chunks arrive, and the stored conversation read again when the turn ends (the agent's copy is
// the one that counts). React pages get all of this from `useAgentChat` in `hearth/react`.
/* global crypto */
import { CHAT_FRAME, getAgentMessages, readChatFrame } from "./vendor/hearth-client.js";

export class ChatSession {
  /** The conversation as last stored by the agent, plus the message being sent. */
  messages = [];
  /** The answer being streamed, `{ role: "assistant", parts }`, or null. */
  live = null;
  busy = false;
  /** Why the last turn failed, or "". */
  error = "";
  #socket;
  #messagesUrl;
  #onChange;
  #turn = null;

  /**
   * @param {{ socket: { send(data: string): unknown, addEventListener(type: "message", fn: (event: MessageEvent) => void): void },
   *   messagesUrl: string, onChange: () => void }} options
   */
  constructor({ socket, messagesUrl, onChange }) {
    this.#socket = socket;
    this.#messagesUrl = messagesUrl;
    this.#onChange = onChange;
    socket.addEventListener("message", (event) => this.#onFrame(event.data));
  }

  /** Reads the stored conversation. */
  async load() {
    this.messages = await getAgentMessages({ url: this.#messagesUrl });
    this.#onChange();
  }

  /** Sends `text` as the user's next message; the agent answers over the socket. */
  send(text) {
    if (this.busy) return;
    const message = { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text }] };
    this.messages = [...this.messages, message];
    this.#turn = crypto.randomUUID();
    this.busy = true;
    this.error = "";
    this.live = { id: "live", role: "assistant", parts: [] };
    const body = JSON.stringify({ messages: this.messages, trigger: "submit-message" });
    this.#socket.send(JSON.stringify({ type: CHAT_FRAME.request, id: this.#turn, init: { method: "POST", body } }));
    this.#onChange();
  }

  async #onFrame(data) {
    const frame = readChatFrame(data);
    if (frame === undefined) return;
    if (frame.type === CHAT_FRAME.messages) {
      if (!this.busy) this.messages = frame.messages;
    } else if (frame.type === CHAT_FRAME.clear) {
      this.messages = [];
    } else if (frame.type === CHAT_FRAME.response) {
      if (frame.error) this.error = frame.body;
      else if (frame.body && frame.id === this.#turn && this.live) applyChunk(this.live, JSON.parse(frame.body));
      if (!frame.done) return this.#onChange();
      // A turn ended (ours, or one another tab of this customer started): show what the agent stored.
      if (frame.id === this.#turn) {
        this.#turn = null;
        this.live = null;
        this.busy = false;
      }
      try {
        await this.load();
      } catch (error) {
        this.error = `Could not read the conversation: ${error.message}`;
      }
    }
    this.#onChange();
  }
}

/** Adds one UI message stream chunk to the message being streamed. */
function applyChunk(message, chunk) {
  const { parts } = message;
  switch (chunk.type) {
    case "text-start":
      parts.push({ type: "text", text: "", chunkId: chunk.id });
      break;
    case "text-delta": {
      const part = parts.findLast((p) => p.type === "text" && p.chunkId === chunk.id);
      if (part) part.text += chunk.delta;
      break;
    }
    case "tool-input-available":
      parts.push({ type: `tool-${chunk.toolName}`, toolCallId: chunk.toolCallId, state: "input-available", input: chunk.input });
      break;
    case "tool-output-available":
    case "tool-output-error": {
      const part = parts.find((p) => p.toolCallId === chunk.toolCallId);
      if (!part) break;
      part.state = chunk.type === "tool-output-error" ? "output-error" : "output-available";
      part.output = chunk.output;
      part.errorText = chunk.errorText;
      break;
    }
  }
}
