/**
 * Facet isolation against name tricks: whatever a facet is called (path segments, case, unicode
 * forms, 256 characters, names whose readable part collides), it gets a file of its own inside its
 * parent's `.facets` directory and sees only its own data; it cannot read its parent's or a
 * sibling's database.
 */
import { basename, dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { filesUnder, startFacetHarness, supervisorOf, supervisorsDir } from "./support.ts";

const TRICKY_NAMES = [
  "../x",
  "../../../../../../tmp/escape",
  "a/b",
  "a\\b",
  "..",
  ".",
  "/",
  "Tenant",
  "tenant",
  "TENANT",
  "\u00e9", // é, composed (NFC)
  "e\u0301", // é, decomposed (NFD)
  "\ufb01", // the "fi" ligature: NFKD makes it "fi"
  "fi",
  "A b",
  "a-b",
  "a b",
  "a_b",
  "-a-b-",
  "x".repeat(256),
  "x".repeat(255) + "y",
  "🙂",
  "...",
  " ",
  "a\nb",
  "a\u200bb", // zero-width space
  "con",
  "a:b",
];

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The parent's `.facets` directory and the facet files in it. */
function facetFiles(h: Harness): { dir: string; files: string[] } {
  const all = filesUnder(supervisorsDir(h.dataDir)).filter((file) => file.endsWith(".sqlite"));
  const parent = all.find((file) => !file.includes(".facets"))!;
  const dir = join(supervisorsDir(h.dataDir), parent.replace(/\.sqlite$/, ".facets"));
  return { dir, files: all.filter((file) => file !== parent).map((file) => join(supervisorsDir(h.dataDir), file)) };
}

describe("facet isolation by name", () => {
  it("gives every tricky name its own file inside the parent's directory, reading only its own data", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    for (const name of TRICKY_NAMES) expect(await sup.call(name, "add", [name])).toBe(1);

    const { dir, files } = facetFiles(harness);
    expect(files).toHaveLength(TRICKY_NAMES.length);
    for (const file of files) {
      expect(dirname(file)).toBe(dir); // no name climbs out or nests deeper
      expect(basename(file)).toMatch(/^([a-z0-9-]+-)?[0-9a-f]{32}\.sqlite$/);
    }
    // Nothing was written outside the data directory's supervisors tree by a name like ../x.
    expect(filesUnder(harness.dataDir).filter((file) => file.endsWith(".sqlite") && !file.startsWith("agents/supervisors/"))).toEqual([
      "catalog.sqlite",
      "host.sqlite",
    ]);

    // Every facet holds exactly its own note, read back through a fresh start from its file.
    harness.host.hibernateIdleAgents();
    for (const name of TRICKY_NAMES) expect(await sup.call(name, "notes")).toEqual([name]);
  });

  it("keeps names apart that differ only by case or unicode form, or whose readable part is the same", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    const groups = [
      ["Tenant", "tenant", "TENANT"],
      ["\u00e9", "e\u0301"],
      ["\ufb01", "fi"],
      ["A b", "a-b", "a b", "a_b", "-a-b-"],
    ];
    for (const group of groups) {
      for (const [i, name] of group.entries()) {
        for (let n = 0; n <= i; n++) await sup.call(name, "add", [`${name}#${n}`]);
      }
      for (const [i, name] of group.entries()) {
        expect(await sup.call(name, "notes")).toEqual(Array.from({ length: i + 1 }, (_, n) => `${name}#${n}`));
      }
    }
    // "A b", "a-b", "a b", "a_b" and "-a-b-" share the readable part "a-b": only the hash tells them apart.
    const collided = facetFiles(harness).files.filter((file) => basename(file).startsWith("a-b-"));
    expect(collided).toHaveLength(5);
  });

  it("takes names of 256 characters and refuses 257 without losing what is stored", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    const longest = "é".repeat(256);
    await sup.call(longest, "add", ["long"]);
    await sup.call(longest.slice(0, 255) + "e", "add", ["almost"]);
    expect(await sup.tryName("é".repeat(257))).toBe("Facet name is too long (max 256 characters).");
    expect(await sup.tryName("x\0y")).toBe("A facet name must not contain NUL characters.");
    expect(await sup.tryName("")).toBe("A facet name must not be empty.");
    expect(await sup.tryName("\ud800")).toBe("A facet name must be well-formed unicode (unpaired surrogate).");
    expect(await sup.call(longest, "notes")).toEqual(["long"]);
    expect(await sup.call(longest.slice(0, 255) + "e", "notes")).toEqual(["almost"]);
    expect(facetFiles(harness).files).toHaveLength(2);
  });

  it("shows a facet only its own tables: not its parent's, not a sibling's", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.keepSecret("the parent's");
    await sup.call("acme", "add", ["acme's"]);
    await sup.call("globex", "add", ["globex's"]);
    expect(await sup.call("acme", "tables")).toEqual(["notes"]);
    expect(await sup.call("acme", "notes")).toEqual(["acme's"]);
    expect(await sup.call("globex", "notes")).toEqual(["globex's"]);
    // A name that spells the parent's own file or a sibling's reaches a new facet, not their data.
    const { files } = facetFiles(harness);
    for (const file of files) {
      expect(await sup.call(file, "notes")).toEqual([]);
      expect(await sup.call(basename(file), "notes")).toEqual([]);
    }
  });

  it("refuses ATTACH DATABASE from a facet's SQL (no reading a sibling's or the parent's file)", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.call("acme", "add", ["acme's secret"]);
    await sup.call("globex", "add", ["globex's"]);
    harness.host.hibernateIdleAgents();
    const acme = facetFiles(harness).files.find((file) => basename(file).startsWith("acme-"))!;
    expect(await sup.call("globex", "attach", [acme])).toMatch(/^refused: too many attached databases - max 0/);
    const parent = join(dirname(dirname(acme)), basename(dirname(acme)).replace(/\.facets$/, ".sqlite"));
    expect(await sup.call("globex", "attach", [parent])).toMatch(/^refused: /);
    expect(await sup.call("acme", "notes")).toEqual(["acme's secret"]);
  });
});
