/** The shell: header (role badge, unlock, theme), navigation, and the routed view. */
import { useEffect } from "preact/hooks";
import { unauthorized } from "./api.ts";
import { LoginView, UnlockDialog } from "./views/login.tsx";
import { Routed } from "./routes.tsx";
import { route } from "./router.ts";
import { refreshSession, session, signOut } from "./session.ts";
import { applyTheme, theme, unlockOpen } from "./theme.ts";

const SECTIONS = [
  ["", "Overview"],
  ["agents", "Agents"],
  ["workflows", "Workflows"],
  ["team-runs", "Team runs"],
  ["traces", "Traces"],
  ["logs", "Logs"],
  ["metrics", "Metrics"],
  ["alerts", "Alerts"],
  ["audit", "Audit"],
] as const;

export function App() {
  const state = session.value;
  useEffect(() => {
    if (unauthorized.value && state.status === "ready") void refreshSession();
  }, [unauthorized.value, state.status]);
  if (state.status === "loading")
    return (
      <main id="main" class="center">
        <p role="status">Connecting…</p>
      </main>
    );
  if (state.status === "signed-out") return <LoginView error={state.error} />;
  const { role, host, cluster } = state.session;
  const section = route.value.segments[0] ?? "";
  return (
    <>
      <a class="skip" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Hearth inspector</span>
        <span class="muted small" title={host.dataDir}>
          v{host.version} · pid {host.pid}
          {cluster !== undefined && ` · cluster node ${cluster.node}`}
        </span>
        <span class="spacer" />
        <span class={`badge ${role === "admin" ? "badge-admin" : "badge-viewer"}`} data-testid="role-badge">
          {role === "admin" ? "Admin: writes unlocked" : "Read-only"}
        </span>
        {role !== "admin" && (
          <button type="button" onClick={() => (unlockOpen.value = true)}>
            Unlock writes
          </button>
        )}
        <button
          type="button"
          aria-label={`Switch to ${theme.value === "dark" ? "light" : "dark"} theme`}
          onClick={() => applyTheme(theme.value === "dark" ? "light" : "dark")}
        >
          {theme.value === "dark" ? "Light theme" : "Dark theme"}
        </button>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <div class="layout">
        <nav class="side" aria-label="Sections">
          <ul>
            {SECTIONS.map(([id, label]) => (
              <li key={id}>
                <a href={`#/${id}`} aria-current={section === id ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          <Routed />
        </main>
      </div>
      <UnlockDialog />
    </>
  );
}

/** The hash is the router's: move focus to <main> instead of navigating to `#main`. */
function skipToMain(event: MouseEvent): void {
  event.preventDefault();
  document.getElementById("main")?.focus();
}
