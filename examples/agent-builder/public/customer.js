// The customer's page: create or open a customer, then edit that customer's agent (instructions,
// tools as code) and chat with it. Everything lives in the customer's own agent; this page only
// shows it.
/* global document, fetch, location, URLSearchParams */
import { AgentClient } from "./vendor/hearth-client.js";
import { customerAddress, customerUrl } from "./address.js";
import { ChatSession } from "./chat.js";
import { h, renderMessage } from "./transcript.js";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const customer = new URLSearchParams(location.search).get("customer");

if (customer) void openCustomer(customer);
else showStart();

function showStart() {
  $("start").hidden = false;
  $("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("start-error").textContent = "";
    const name = $("customer-input").value.trim().toLowerCase();
    const response = await fetch("/api/customers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    const body = await response.json();
    if (!response.ok) return void ($("start-error").textContent = body.error);
    location.search = `?customer=${encodeURIComponent(body.name)}`;
  });
}

/** Why the customer's agent cannot be reached (suspended, deleted, unknown), or null when it can. */
async function refusal(name) {
  const response = await fetch(customerUrl(name, "profile"));
  if (response.ok) return null;
  const body = await response.json().catch(() => ({}));
  return body.error ?? `The agent answered ${response.status}`;
}

function showRefused(message) {
  $("workspace").hidden = true;
  $("refused").hidden = false;
  $("refused-message").textContent = message;
}

async function openCustomer(name) {
  $("customer-name").textContent = name;
  document.title = `${name}: agent builder`;
  const refused = await refusal(name);
  if (refused) return showRefused(refused);
  $("workspace").hidden = false;

  const client = new AgentClient({ host: location.origin, ...customerAddress(name), onStateUpdate: renderState });
  client.addEventListener("open", () => client.ready.then(() => ($("connection").textContent = "connected")));
  client.addEventListener("close", async () => {
    $("connection").textContent = "disconnected";
    // The operator suspended or deleted this agent: its way in is closed. Say why and stop retrying.
    const why = await refusal(name).catch(() => null);
    if (why) {
      client.close();
      showRefused(why);
    }
  });

  const chat = new ChatSession({ socket: client, messagesUrl: customerUrl(name, "get-messages"), onChange: renderChat });
  wireInstructions(client);
  wireTools(client);
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text || chat.busy) return;
    $("chat-input").value = "";
    chat.send(text);
  });
  await chat.load();

  function renderChat() {
    const items = chat.messages.map(renderMessage);
    if (chat.live) items.push(renderMessage(chat.live));
    $("transcript").replaceChildren(...items);
    $("status").textContent = chat.busy ? "answering…" : "ready";
    $("send").disabled = chat.busy;
    $("chat-error").textContent = chat.error;
  }
}

let instructionsEdited = false;

function renderState(state) {
  $("model").textContent = state.model;
  if (!instructionsEdited) $("instructions").value = state.instructions;
  $("tools").replaceChildren(...state.tools.map(renderTool));
}

function wireInstructions(client) {
  $("instructions").addEventListener("input", () => (instructionsEdited = true));
  $("save-instructions").addEventListener("click", async () => {
    try {
      await client.call("setInstructions", [$("instructions").value]);
      instructionsEdited = false;
      $("instructions-status").textContent = "saved";
    } catch (error) {
      $("instructions-status").textContent = error.message;
    }
  });
}

let toolClient;

function wireTools(client) {
  toolClient = client;
  $("tool-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("tool-error").textContent = "";
    const tool = { name: $("tool-name").value.trim(), description: $("tool-description").value.trim(), code: $("tool-code").value };
    try {
      await client.call("saveTool", [tool]);
      $("tool-name").value = "";
      $("tool-description").value = "";
    } catch (error) {
      $("tool-error").textContent = error.message;
    }
  });
}

function renderTool(tool) {
  const input = h("input", { "data-testid": "try-input", placeholder: "input", autocomplete: "off" });
  const output = h("span", { class: "muted", "data-testid": "try-output" });
  const tryIt = async () => {
    try {
      output.textContent = `→ ${JSON.stringify(await toolClient.call("tryTool", [tool.name, input.value]))}`;
    } catch (error) {
      output.textContent = `failed: ${error.message}`;
    }
  };
  return h(
    "li",
    { "data-testid": "tool", "data-name": tool.name },
    h("div", {}, h("code", {}, tool.name), " — ", tool.description),
    h("div", { class: "row" }, input, h("button", { "data-testid": "try", onclick: tryIt }, "Try"),
      h("button", { "data-testid": "remove-tool", onclick: () => toolClient.call("removeTool", [tool.name]) }, "Remove")),
    output,
  );
}
