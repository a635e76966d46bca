/**
 * An actor's facets, read from where the host keeps them: each facet is its own SQLite file in the
 * parent's `<file>.facets/` directory, named by a readable hint of the facet's name and a hash of it,
 * and records its name (in its identity) and class in its `_hearth_meta` table. A facet in memory now
 * holds its file locked: its name is then recovered from the file name when the hint is the whole
 * name, and its class is unknown.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readableSlug } from "../storage/agent-file.ts";

/** One facet as `GET …/children` lists it. */
export interface FacetSummary {
  /** The facet's name (`ctx.facets.get(name, …)`); null when it is in memory and its name cannot be read back from its file name. */
  name: string | null;
  /** Its class (binding name); "" for code loaded at run time; null while it is in memory. */
  class: string | null;
  /** In memory now (its file is held by the host). */
  live: boolean;
  /** The sub-agent this facet is (a sub-agent is the facet "<Class>:<name>"), or null. */
  subAgent: { class: string; name: string } | null;
}

/** The file name a facet called `name` gets (the host's scheme in src/host/place.ts). */
export function facetFileName(name: string): string {
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 32);
  const hint = readableSlug(name);
  return hint ? `${hint}-${hash}.sqlite` : `${hash}.sqlite`;
}

/**
 * The facets of the actor whose database is `databaseFile`, sorted by name; those that are the
 * actor's sub-agents (`subAgents`) say so.
 * @example listFacets(runtime.db.path, [{ class: "Page", name: "one" }])
 */
export function listFacets(databaseFile: string, subAgents: ReadonlyArray<{ class: string; name: string }> = []): FacetSummary[] {
  const dir = databaseFile.replace(/\.sqlite$/, ".facets");
  if (!existsSync(dir)) return [];
  const byFile = new Map(subAgents.map((child) => [facetFileName(`${child.class}:${child.name}`), child]));
  const facets: FacetSummary[] = [];
  for (const entry of readdirSync(dir)) {
    if (!entry.endsWith(".sqlite")) continue;
    const subAgent = byFile.get(entry);
    const facet = readFacet(join(dir, entry), entry);
    // A sub-agent's name and class are known even while its file is held.
    facets.push(subAgent ? { name: `${subAgent.class}:${subAgent.name}`, class: facet.class ?? subAgent.class, live: facet.live, subAgent: { class: subAgent.class, name: subAgent.name } } : facet);
  }
  return facets.sort((a, b) => (a.name ?? "\uffff").localeCompare(b.name ?? "\uffff"));
}

function readFacet(file: string, entry: string): FacetSummary {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true, timeout: 0 });
    const read = (key: string) => (db!.prepare("SELECT value FROM _hearth_meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
    const identity = read("identity");
    return { name: identity?.split("\0").at(-1) ?? nameFromFile(entry), class: read("facet-class") ?? null, live: false, subAgent: null };
  } catch {
    return { name: nameFromFile(entry), class: null, live: true, subAgent: null };
  } finally {
    db?.close();
  }
}

/** The name, when the file name's readable hint is the whole name (its hash confirms it). */
function nameFromFile(entry: string): string | null {
  const match = /^(.+)-([0-9a-f]{32})\.sqlite$/.exec(entry);
  if (!match) return null;
  return facetFileName(match[1]!) === entry ? match[1]! : null;
}
