// Renders chat messages (AI SDK UI messages: text parts and tool parts) as DOM elements.
/* global document */

/** Shorthand for an element with attributes and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

/** One message: who said it, its text, and each tool call with its input and result. */
export function renderMessage(message) {
  const parts = message.parts.map((part) => {
    if (part.type === "text") return h("p", { class: "text" }, part.text);
    if (part.type.startsWith("tool-") || part.type === "dynamic-tool") return renderToolPart(part);
    return null;
  });
  return h("li", { class: `message ${message.role}`, "data-testid": "message", "data-role": message.role }, h("span", { class: "role" }, message.role), ...parts);
}

function renderToolPart(part) {
  const name = part.type === "dynamic-tool" ? part.toolName : part.type.slice("tool-".length);
  const input = part.input && typeof part.input === "object" && "input" in part.input ? part.input.input : part.input;
  let outcome = "running…";
  if (part.state === "output-available") outcome = `→ ${JSON.stringify(part.output)}`;
  if (part.state === "output-error") outcome = `failed: ${part.errorText}`;
  return h(
    "div",
    { class: `tool-call ${part.state}`, "data-testid": "tool-call", "data-tool": name, "data-state": part.state },
    h("code", {}, `${name}(${JSON.stringify(input ?? "")})`),
    " ",
    h("span", { class: "outcome" }, outcome),
  );
}
