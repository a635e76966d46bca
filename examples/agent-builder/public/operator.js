// The operator's page: every customer of the Builder, the size of each one's own database, and
// suspend, resume and delete. The list follows the Builder's state; sizes come from `report()`.
/* global confirm, document, location */
import { AgentClient } from "./vendor/hearth-client.js";
import { builderAddress } from "./address.js";
import { h } from "./transcript.js";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

const client = new AgentClient({ host: location.origin, ...builderAddress(), onStateUpdate: () => void refresh() });
client.addEventListener("open", () => client.ready.then(() => ($("connection").textContent = "connected")));
client.addEventListener("close", () => ($("connection").textContent = "disconnected"));
$("refresh").addEventListener("click", () => void refresh());

let latest = 0;

async function refresh() {
  const ticket = ++latest;
  try {
    const report = await client.call("report");
    if (ticket !== latest) return; // a newer refresh is on its way
    $("operator-error").textContent = "";
    render(report);
  } catch (error) {
    $("operator-error").textContent = error.message;
  }
}

function render(report) {
  const total = report.reduce((sum, row) => sum + row.storageBytes, 0);
  $("summary").textContent = `${report.length} customer${report.length === 1 ? "" : "s"}, ${formatBytes(total)} in all`;
  document.querySelector('[data-testid="customers"] tbody').replaceChildren(...report.map(renderRow));
}

function renderRow(row) {
  const status = row.suspended ? "suspended" : "active";
  return h(
    "tr",
    { "data-testid": "customer-row", "data-name": row.name, class: status },
    h("td", {}, h("a", { href: `/?customer=${encodeURIComponent(row.name)}` }, row.name)),
    h("td", {}, new Date(row.createdAt).toLocaleString()),
    h("td", { "data-testid": "customer-status" }, status),
    h("td", { "data-testid": "customer-storage", "data-bytes": row.storageBytes }, formatBytes(row.storageBytes)),
    h(
      "td",
      { class: "actions" },
      row.suspended
        ? h("button", { "data-testid": "resume", onclick: () => act("resume", row.name) }, "Resume")
        : h("button", { "data-testid": "suspend", onclick: () => act("suspend", row.name) }, "Suspend"),
      h("button", { "data-testid": "delete", onclick: () => confirm(`Delete ${row.name} and all its data?`) && act("deleteCustomer", row.name) }, "Delete"),
    ),
  );
}

async function act(method, name) {
  try {
    await client.call(method, [name]);
  } catch (error) {
    $("operator-error").textContent = error.message;
  }
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
