import type { TestProject } from "vitest/node";
import { postgresUnavailable, startPostgres } from "./postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's shared PostgreSQL server (fsync off), when PostgreSQL is installed. */
    hearthPostgresUrl: string | undefined;
  }
}

/**
 * One PostgreSQL server for the whole test run (vitest globalSetup): files that only need databases
 * take one each from it (test/support/postgres.ts `sharedPostgres()`), instead of starting a server
 * of their own; files that stop or restart Postgres still start their own.
 */
export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  if (postgresUnavailable() !== undefined) {
    project.provide("hearthPostgresUrl", undefined);
    return undefined;
  }
  const server = await startPostgres();
  project.provide("hearthPostgresUrl", server.url);
  return () => server.stop();
}
