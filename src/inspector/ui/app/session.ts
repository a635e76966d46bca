/**
 * Who the UI is: the viewer token arrives in the URL fragment (`#token=…`, never sent to a server
 * log), is exchanged for the HttpOnly session cookie, and is removed from the address bar. The
 * admin token, typed into "Unlock writes", upgrades the same cookie.
 */
import { signal } from "@preact/signals";
import { api, ApiError, sessionProof, unauthorized } from "./api.ts";
import { parseHash, route } from "./router.ts";
import { parseSignInFragment } from "../../sign-in-link.ts";

export type Role = "viewer" | "admin";

export interface HostInfo {
  version: string;
  node: string;
  dataDir: string;
  pid: number;
  startedAt: number;
}

export interface SessionInfo {
  role: Role;
  readOnly: boolean;
  host: HostInfo;
  /** On a cluster node: this node's id (the inspector shows the whole cluster from it). */
  cluster?: { node: string };
}

export type SessionState =
  | { status: "loading" }
  | { status: "signed-out"; error?: string }
  | { status: "ready"; session: SessionInfo };

export const session = signal<SessionState>({ status: "loading" });

/** True when writes are unlocked (admin role). */
export function isAdmin(): boolean {
  const state = session.value;
  return state.status === "ready" && state.session.role === "admin";
}

/** Takes `token=` out of the fragment, keeping any route after it (`#token=…&to=/agents`; src/inspector/sign-in-link.ts). */
export function takeTokenFromFragment(): string | undefined {
  const link = parseSignInFragment(location.hash);
  if (link === undefined) return undefined;
  history.replaceState(null, "", `${location.pathname}${location.search}#${link.to ?? "/"}`);
  // replaceState fires no hashchange: tell the router.
  route.value = parseHash(location.hash);
  return link.token;
}

/** Exchanges a token for the session cookie; throws {@link ApiError} on a wrong token. */
export async function signIn(token: string): Promise<Role> {
  const answer = await api<{ role: Role; proof: string }>("/api/session", "POST", { token });
  sessionProof.set(answer.proof);
  await refreshSession();
  return answer.role;
}

/** Reads the session; a 401 means signed out. */
export async function refreshSession(): Promise<void> {
  try {
    const info = await api<SessionInfo>("/api/session");
    unauthorized.value = false;
    session.value = { status: "ready", session: info };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) session.value = { status: "signed-out" };
    else session.value = { status: "signed-out", error: error instanceof Error ? error.message : String(error) };
  }
}

export async function signOut(): Promise<void> {
  await api("/api/session", "DELETE").catch(() => undefined);
  sessionProof.set(undefined);
  session.value = { status: "signed-out" };
}

/**
 * Signs in with the token of a sign-in link in the address, taking it out of the address bar (and of
 * the history entry); false when there is none.
 */
async function signInFromLink(): Promise<boolean> {
  const token = takeTokenFromFragment();
  if (token === undefined) return false;
  try {
    await signIn(token);
  } catch (error) {
    session.value = {
      status: "signed-out",
      error: error instanceof ApiError && error.status === 401 ? "That token was not accepted." : String(error),
    };
  }
  return true;
}

/**
 * Starts the session: the fragment's token if there is one, else the cookie. A sign-in link opened
 * later in this tab (a hash change, no reload) is taken the same way.
 */
export async function startSession(): Promise<void> {
  addEventListener("hashchange", () => void signInFromLink());
  if (!(await signInFromLink())) await refreshSession();
}
