// Renders a team run's events (hearth_team_event frames) as lines of a timeline.
/* global document */

/** Shorthand for an element with attributes and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false || value === null) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

/** One sentence for an event: what happened, where. */
export function describe(event) {
  const where = event.path ?? "";
  const error = event.data?.error ? `${event.data.error.name}: ${event.data.error.message}` : "";
  switch (event.type) {
    case "run-started":
      return "run started";
    case "run-resumed":
      return `run resumed after a restart (${event.data?.steps ?? 0} steps already done)`;
    case "step-started":
      return `▶ ${where}`;
    case "step-finished":
      return `✓ ${where}`;
    case "step-failed":
      return `✗ ${where} — ${error}`;
    case "step-retry":
      return `↻ retry ${where} (attempt ${event.data?.attempt} failed: ${event.data?.error?.message ?? ""})`;
    case "fallback":
      return `⇢ fallback from ${where} — ${error}`;
    case "branch-failed":
      return `✗ branch of ${where} — ${error}`;
    case "approval-requested":
      return `? ${where} waits for approval: ${event.data?.prompt ?? ""}`;
    case "approval-resolved":
      return `✓ approval given at ${where}`;
    case "member-event":
      return `• ${event.data?.member}: ${event.data?.type} ${event.data?.data === undefined ? "" : JSON.stringify(event.data.data)}`;
    case "run-waiting":
      return "run waits for a person";
    case "run-completed":
      return "run completed";
    case "run-failed":
      return `run failed — ${error}`;
    case "run-cancelled":
      return `run cancelled — ${error}`;
    default:
      return `${event.type} ${where}`;
  }
}

/**
 * Follows the route decision through the events: after `<route>/decision` finishes, the first step
 * under `<route>/<name>/` names the specialist. Returns the name once, when it becomes known.
 */
export function routeTracker() {
  let prefix;
  let decided = false;
  return (event) => {
    if (decided || !event.path) return undefined;
    if (event.path.endsWith("/decision")) {
      prefix = event.path.slice(0, -"decision".length);
      return undefined;
    }
    if (prefix !== undefined && event.path.startsWith(prefix)) {
      decided = true;
      return event.path.slice(prefix.length).split("/")[0];
    }
    return undefined;
  };
}

/** The timeline line of one event. */
export function renderEvent(event) {
  return h("li", { class: event.type, "data-testid": "event", "data-type": event.type, "data-path": event.path, "data-seq": event.seq }, describe(event));
}
