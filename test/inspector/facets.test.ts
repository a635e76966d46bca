/**
 * Reading facets from a parent's facet directory: a closed facet's name and class from its own
 * `_hearth_meta`; a facet whose file is held (in memory) by its name recovered from the file name.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { facetFileName, listFacets } from "../../src/inspector/facets.ts";

let dir: string | undefined;
const open: DatabaseSync[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function facetFile(parent: string, name: string, meta: Record<string, string>, hold = false): void {
  const facets = parent.replace(/\.sqlite$/, ".facets");
  mkdirSync(facets, { recursive: true });
  const db = new DatabaseSync(join(facets, facetFileName(name)));
  db.exec("CREATE TABLE _hearth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  for (const [key, value] of Object.entries(meta)) db.prepare("INSERT INTO _hearth_meta (key, value) VALUES (?, ?)").run(key, value);
  if (hold) {
    db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; BEGIN IMMEDIATE; INSERT INTO _hearth_meta VALUES ('held', '1'); COMMIT;");
    open.push(db);
  } else db.close();
}

describe("listFacets", () => {
  it("reads closed facets and names held ones from their file names", () => {
    dir = mkdtempSync(join(tmpdir(), "hearth-inspector-facets-"));
    const parent = join(dir, "store-abc.sqlite");
    expect(listFacets(parent)).toEqual([]);
    facetFile(parent, "tenant-1", { identity: "store/s\0tenant-1", "facet-class": "TenantStore" });
    facetFile(parent, "tenant-2", { identity: "store/s\0tenant-2", "facet-class": "TenantStore" }, true);
    facetFile(parent, "Mixed Case!", { identity: "store/s\0Mixed Case!", "facet-class": "TenantStore" }, true);
    expect(listFacets(parent)).toEqual([
      { name: "tenant-1", class: "TenantStore", live: false, subAgent: null },
      { name: "tenant-2", class: null, live: true, subAgent: null },
      { name: null, class: null, live: true, subAgent: null },
    ]);
  });
});
