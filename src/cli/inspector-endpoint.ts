import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Where a running server tells `hearth inspect` how to reach its inspector (mode 0600). */
export function inspectorEndpointFile(dataDir: string): string {
  return join(dataDir, "inspector", "endpoint.json");
}

/** Writes the running inspector's URL and viewer token; returns what removes it again. */
export function writeInspectorEndpoint(dataDir: string, endpoint: { url: string; token: string }): () => void {
  const file = inspectorEndpointFile(dataDir);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...endpoint, pid: process.pid })}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return () => rmSync(file, { force: true });
}

/** The inspector of the server running on `dataDir`, with the admin token kept beside it; undefined when none runs. */
export function readInspectorEndpoint(dataDir: string): { url: string; token: string; adminToken?: string } | undefined {
  let endpoint: { url?: unknown; token?: unknown; pid?: unknown };
  try {
    endpoint = JSON.parse(readFileSync(inspectorEndpointFile(dataDir), "utf8")) as typeof endpoint;
  } catch {
    return undefined;
  }
  if (typeof endpoint.url !== "string" || typeof endpoint.token !== "string") return undefined;
  if (typeof endpoint.pid === "number" && !alive(endpoint.pid)) return undefined; // a server killed before it could clean up
  let adminToken: string | undefined;
  try {
    adminToken = readFileSync(join(dataDir, "inspector", "admin-token"), "utf8").trim() || undefined;
  } catch {
    adminToken = undefined;
  }
  return { url: endpoint.url, token: endpoint.token, ...(adminToken ? { adminToken } : {}) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
