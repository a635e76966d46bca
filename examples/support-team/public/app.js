// The page: ask the user's Desk a question, watch the run's events live over the Desk's WebSocket
// (watchTeamRun), approve a waiting step, read the answer. The runs are listed from the Desk, so a
// reload shows them again (the selected one is in the URL's #run=…), and its events are replayed.
/* global document, location, fetch, history, URLSearchParams, setTimeout */
import { AgentClient, watchTeamRun } from "./vendor/hearth-client.js";
import { h, renderEvent, routeTracker } from "./timeline.js";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const USER_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const END_EVENTS = new Set(["run-completed", "run-failed", "run-cancelled"]);
const user = (new URLSearchParams(location.search).get("user") ?? "alice").trim().toLowerCase();

$("user").value = user;
$("user-form").addEventListener("submit", (event) => {
  event.preventDefault();
  location.search = `?user=${encodeURIComponent($("user").value.trim().toLowerCase())}`;
});

if (USER_NAME.test(user)) openDesk(user);
else $("connection").textContent = "User names are 1-32 of a-z, 0-9 and -, starting with a letter or digit";

function openDesk(user) {
  const client = new AgentClient({ host: location.origin, agent: "Desk", name: user });
  /** The run shown: its id and the function that stops watching it. */
  let selected;
  let runs = [];

  client.addEventListener("open", () =>
    client.ready.then(async () => {
      $("connection").textContent = `connected as ${user}`;
      await refreshRuns();
      // After a reload: the run in the URL, else the newest. (A reconnect keeps the one shown.)
      if (!selected) {
        const wanted = /#run=([\w-]+)/.exec(location.hash)?.[1] ?? runs[0]?.id;
        if (wanted) select(wanted);
      }
    }),
  );
  client.addEventListener("close", () => ($("connection").textContent = "disconnected"));
  void refreshLog();

  $("ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (!question) return;
    $("ask-error").textContent = "";
    const response = await fetch(`/agents/desk/${encodeURIComponent(user)}/ask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const retry = response.headers.get("Retry-After");
      $("ask-error").textContent = `${body.message ?? body.error ?? `HTTP ${response.status}`}${retry ? ` (Retry-After: ${retry} s)` : ""}`;
      return;
    }
    $("question").value = "";
    await refreshRuns();
    select(body.runId);
  });

  async function refreshRuns() {
    runs = await client.call("runs");
    renderRuns();
  }

  function renderRuns() {
    $("runs").replaceChildren(
      ...runs.map((run) =>
        h(
          "li",
          { "data-testid": "run-item", "data-id": run.id, "data-status": run.status, class: run.id === selected?.id ? "selected" : "", onclick: () => select(run.id) },
          h("div", {}, run.question.length > 90 ? `${run.question.slice(0, 90)}…` : run.question),
          h("span", { class: `badge ${run.status}` }, run.status),
          " ",
          h("span", { class: "muted" }, run.route ?? ""),
        ),
      ),
    );
  }

  /** Shows run `id`: its events from the first (replayed, then live), its approvals, its answer. */
  function select(id) {
    if (selected?.id === id) return;
    selected?.stop();
    const shown = { id, stop: () => {} };
    selected = shown;
    const track = routeTracker();
    $("run").hidden = false;
    $("events").replaceChildren();
    $("approvals").replaceChildren();
    $("answer").textContent = "";
    $("run-route").textContent = "…";
    history.replaceState(null, "", `${location.pathname}${location.search}#run=${id}`);
    renderRuns();
    shown.stop = watchTeamRun(
      client,
      id,
      (event) => {
        if (selected !== shown) return;
        $("events").append(renderEvent(event));
        const route = track(event);
        if (route) {
          $("run-route").textContent = route;
          $("events").append(h("li", { class: "route", "data-testid": "route-decision", "data-route": route }, `→ routed to the ${route} specialist`));
        }
        if (event.type.startsWith("run-") || event.type.startsWith("approval-")) void refreshRun(id);
        if (END_EVENTS.has(event.type)) {
          void refreshRuns();
          void refreshLog(id);
        }
      },
      { onError: (error) => ($("ask-error").textContent = error) },
    );
    void refreshRun(id);
  }

  async function refreshRun(id) {
    const run = await client.call("run", [id]);
    if (selected?.id !== id) return;
    $("run-question").textContent = run.question;
    $("run-status").textContent = run.status;
    $("run-status").className = `badge ${run.status}`;
    $("run-status").dataset.status = run.status;
    if (run.route) $("run-route").textContent = run.route;
    $("answer").textContent = run.answer ?? run.error ?? "";
    $("approvals").replaceChildren(...run.approvals.map((approval) => renderApproval(id, approval)));
  }

  function renderApproval(id, approval) {
    const decide = (method) => async () => {
      await client.call(method, [id, approval.path]);
      await refreshRun(id);
    };
    return h(
      "div",
      { class: "approval", "data-testid": "approval", "data-path": approval.path },
      h("p", {}, approval.prompt, " ", h("code", { class: "muted" }, approval.path)),
      h("button", { "data-testid": "approve", onclick: decide("approve") }, "Approve"),
      " ",
      h("button", { "data-testid": "reject", onclick: decide("reject") }, "Reject"),
    );
  }

  /** The execution log from D1; the row of a run that just ended may take a moment to be written. */
  async function refreshLog(waitFor, tries = 10) {
    const rows = await (await fetch(`/api/executions?user=${encodeURIComponent(user)}`)).json();
    $("log").replaceChildren(
      ...rows.map((row) =>
        h(
          "tr",
          { "data-testid": "log-row", "data-run": row.runId, "data-outcome": row.outcome },
          h("td", {}, new Date(row.startedAt).toLocaleTimeString()),
          h("td", {}, row.question),
          h("td", {}, row.route ?? ""),
          h("td", {}, row.outcome + (row.critical ? " · CRITICAL" : "")),
          h("td", {}, `${row.durationMs} ms`),
        ),
      ),
    );
    if (waitFor && tries > 1 && !rows.some((row) => row.runId === waitFor)) setTimeout(() => void refreshLog(waitFor, tries - 1), 300);
  }
}
