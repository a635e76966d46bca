/** Helpers shared by the facet suites: a harness with the tenant classes, file listings, waiting. */
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import type { DurableObjectNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { facetClasses, type Supervisor } from "./fixtures/tenants.ts";

export function startFacetHarness(options: Parameters<typeof startHarness>[1] = {}): Promise<Harness> {
  return startHarness({}, { ...options, durableObjects: facetClasses });
}

/** The supervisor `name` of a host with {@link facetClasses}. */
export function supervisorOf(host: { env: Record<string, unknown> }, name = "main") {
  return (host.env.Supervisors as DurableObjectNamespace<Supervisor>).getByName(name);
}

/** Every file under `dir`, relative to it (empty when `dir` is gone). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The supervisors' storage directory of a harness's data directory. */
export function supervisorsDir(dataDir: string): string {
  return join(dataDir, "agents", "supervisors");
}

/** Resolves once `condition()` is true; fails after `ms` naming `what`. */
export async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The message of a rejected promise (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    const value = await promise;
    return `resolved with ${JSON.stringify(value)}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
