/* global document, location, fetch, history, window */
// A tiny single-page app: client-side routes, served by the assets' single-page-application mode on reload.
const view = document.getElementById("view");

async function render() {
  const match = /^\/notebooks\/([^/]+)$/.exec(location.pathname);
  if (!match) {
    const config = await (await fetch("/api/config")).json();
    view.textContent = `${config.greeting} (${config.stage})`;
    return;
  }
  const name = decodeURIComponent(match[1]);
  const last = await (await fetch(`/api/last?notebook=${encodeURIComponent(name)}`)).json();
  view.textContent = `Notebook ${name}: last note ${last.value ?? "(none)"}`;
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link) return;
  event.preventDefault();
  history.pushState(null, "", link.getAttribute("href"));
  void render();
});
window.addEventListener("popstate", () => void render());
void render();
