import { describe, expect, it } from "vitest";
import type { MigrationStep } from "../../src/config/types.ts";
import { configError, loadJson, useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

const step = (tag: string, change: Partial<MigrationStep>): MigrationStep => ({
  tag,
  newClasses: [],
  newSqliteClasses: [],
  renamedClasses: [],
  deletedClasses: [],
  ...change,
});

describe("migrations", () => {
  it("keep the steps in order with every list filled", () => {
    const config = loadJson(project(), {
      migrations: [
        { tag: "v1", new_classes: ["Legacy"], new_sqlite_classes: ["Chat"] },
        { tag: "v2", renamed_classes: [{ from: "Chat", to: "Conversation" }] },
        { tag: "v3", deleted_classes: ["Legacy"] },
      ],
    });
    expect(config.migrations).toEqual([
      step("v1", { newClasses: ["Legacy"], newSqliteClasses: ["Chat"] }),
      step("v2", { renamedClasses: [{ from: "Chat", to: "Conversation" }] }),
      step("v3", { deletedClasses: ["Legacy"] }),
    ]);
  });

  it("refuse a repeated tag (applied steps are recorded by tag)", () => {
    expect(configError(() => loadJson(project(), { migrations: [{ tag: "v1" }, { tag: "v1" }] })).message).toBe(
      'wrangler.jsonc:7: migrations[1].tag "v1" is already the tag of an earlier migration (tags are unique)',
    );
  });

  it("refuse a step without a tag, and a rename without its target", () => {
    expect(configError(() => loadJson(project(), { migrations: [{ new_sqlite_classes: ["A"] }] })).message).toBe(
      "wrangler.jsonc:3: migrations[0].tag is required",
    );
    expect(configError(() => loadJson(project(), { migrations: [{ tag: "v1", renamed_classes: [{ from: "A" }] }] })).message).toBe(
      "wrangler.jsonc:6: migrations[0].renamed_classes[0].to is required",
    );
  });

  it("refuse a binding to a class a migration renamed away or deleted, naming the binding, class and tag", () => {
    const v1 = { tag: "v1", new_sqlite_classes: ["Counter", "Old"] };
    const bound = (className: string, ...later: unknown[]) => ({
      durable_objects: { bindings: [{ name: "COUNTER", class_name: className }] },
      migrations: [v1, ...later],
    });
    const renamed = { tag: "v2", renamed_classes: [{ from: "Counter", to: "Counter2" }] };
    expect(configError(() => loadJson(project(), bound("Counter", renamed))).message).toBe(
      'wrangler.jsonc:6: durable_objects.bindings[0].class_name "Counter" of binding COUNTER was renamed to Counter2 by migration "v2": ' +
        "bind Counter2 instead (a class a migration renamed away or deleted cannot be bound)",
    );
    expect(configError(() => loadJson(project(), bound("Old", { tag: "v2", deleted_classes: ["Old"] }))).message).toBe(
      'wrangler.jsonc:6: durable_objects.bindings[0].class_name "Old" of binding COUNTER was deleted by migration "v2": ' +
        "remove the binding (a class a migration renamed away or deleted cannot be bound)",
    );
    // The rename's target, a class created again after its deletion, and a class no migration names are bound as usual.
    expect(loadJson(project(), bound("Counter2", renamed)).durableObjects).toEqual([{ name: "COUNTER", className: "Counter2" }]);
    const recreated = bound("Old", { tag: "v2", deleted_classes: ["Old"] }, { tag: "v3", new_classes: ["Old"] });
    expect(loadJson(project(), recreated).durableObjects).toEqual([{ name: "COUNTER", className: "Old" }]);
    expect(loadJson(project(), bound("Unlisted", renamed)).durableObjects).toEqual([{ name: "COUNTER", className: "Unlisted" }]);
  });

  it("refuse a binding to a class the exports form renames away", () => {
    const config = {
      durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }] },
      exports: { Counter: { type: "durable-object", state: "renamed", renamed_to: "Tally" }, Tally: { type: "durable-object", storage: "sqlite" } },
    };
    expect(configError(() => loadJson(project(), config)).message).toMatch(
      /^wrangler\.jsonc:6: durable_objects\.bindings\[0\]\.class_name "Counter" of binding COUNTER was renamed to Tally by exports\.Counter: bind Tally instead/,
    );
  });

  it("create the target of transferred_classes empty, with a warning", () => {
    const config = loadJson(project(), { migrations: [{ tag: "v1", transferred_classes: [{ from: "A", from_script: "w", to: "B" }] }] });
    expect(config.migrations).toEqual([step("v1", { newClasses: ["B"] })]);
    expect(config.warnings).toEqual([
      'wrangler.jsonc: migration "v1": transferred_classes bring B from another worker; Hearth creates it empty (no other worker\'s data can arrive)',
    ]);
    expect(configError(() => loadJson(project(), { migrations: [{ tag: "v1", transferred_classes: [{ from: "A", to: "B" }] }] })).message).toBe(
      "wrangler.jsonc:6: migrations[0].transferred_classes[0].from_script is required",
    );
  });

  it("bind a class deleted by one migration and brought back by a later rename or transfer", () => {
    const bound = (later: unknown) => ({
      durable_objects: { bindings: [{ name: "ROOM", class_name: "Room" }] },
      migrations: [{ tag: "v1", new_sqlite_classes: ["Room", "Lobby"] }, { tag: "v2", deleted_classes: ["Room"] }, later],
    });
    const renamed = { tag: "v3", renamed_classes: [{ from: "Lobby", to: "Room" }] };
    const transferred = { tag: "v3", transferred_classes: [{ from: "Room", from_script: "elsewhere", to: "Room" }] };
    expect(loadJson(project(), bound(renamed)).durableObjects).toEqual([{ name: "ROOM", className: "Room" }]);
    expect(loadJson(project(), bound(transferred)).durableObjects).toEqual([{ name: "ROOM", className: "Room" }]);
  });
});

describe("the declarative exports form", () => {
  it("becomes one tagged step per change: renames, then creations, then deletions", () => {
    const config = loadJson(project(), {
      exports: {
        Chat: { type: "durable-object", storage: "sqlite" },
        Legacy: { type: "durable-object", storage: "legacy-kv" },
        Counter: { type: "durable-object", state: "renamed", renamed_to: "Tally" },
        Tally: { type: "durable-object", storage: "sqlite" },
        Gone: { type: "durable-object", state: "deleted" },
        Api: { type: "worker" },
      },
    });
    expect(config.migrations).toEqual([
      step("exports:rename:Counter:Tally", { renamedClasses: [{ from: "Counter", to: "Tally" }] }),
      step("exports:create:Chat", { newSqliteClasses: ["Chat"] }),
      step("exports:create:Legacy", { newClasses: ["Legacy"] }),
      step("exports:create:Tally", { newSqliteClasses: ["Tally"] }),
      step("exports:delete:Gone", { deletedClasses: ["Gone"] }),
    ]);
    expect(config.warnings).toEqual([]);
  });

  it("is inherited by environments like migrations", () => {
    const config = loadJson(project(), { exports: { Chat: { type: "durable-object", storage: "sqlite" } }, env: { staging: {} } }, "staging");
    expect(config.migrations).toEqual([step("exports:create:Chat", { newSqliteClasses: ["Chat"] })]);
  });

  it("cannot be used together with migrations", () => {
    const both = { migrations: [{ tag: "v1", new_sqlite_classes: ["Chat"] }], exports: { Chat: { type: "durable-object", storage: "sqlite" } } };
    expect(configError(() => loadJson(project(), both)).message).toBe(
      'wrangler.jsonc:10: exports cannot be set together with "migrations" (exports is the declarative form of migrations: keep one)',
    );
    // Inherited migrations count too: the environment resolves to both.
    const inherited = { migrations: both.migrations, env: { staging: { exports: both.exports } } };
    expect(configError(() => loadJson(project(), inherited, "staging")).message).toBe(
      'wrangler.jsonc:12: env.staging.exports cannot be set together with "migrations" (including inherited ones; exports is the declarative form of migrations: keep one)',
    );
  });

  it("allows an empty exports table next to migrations", () => {
    expect(loadJson(project(), { migrations: [{ tag: "v1" }], exports: {} }).migrations).toEqual([step("v1", {})]);
  });

  it("refuses a bad state or storage, and a rename to a class that is not live", () => {
    const load = (entry: unknown, extra: Record<string, unknown> = {}): string =>
      configError(() => loadJson(project(), { exports: { Chat: { type: "durable-object", ...(entry as object) }, ...extra } })).message;
    expect(load({ state: "gone" })).toBe(
      'wrangler.jsonc:5: exports.Chat.state must be one of "created", "deleted", "renamed", "transferred", "expecting-transfer" (got "gone")',
    );
    expect(load({})).toBe('wrangler.jsonc:3: exports.Chat.storage is required ("sqlite" or "legacy-kv")');
    expect(load({ storage: "kv" })).toBe('wrangler.jsonc:5: exports.Chat.storage must be "sqlite" or "legacy-kv" (got "kv")');
    expect(load({ state: "renamed", renamed_to: "Room" })).toBe(
      'wrangler.jsonc:6: exports.Chat.renamed_to names "Room", which must also be a live durable-object entry in exports',
    );
  });

  it("ignores transfers out and creates transfers in empty, with warnings", () => {
    const config = loadJson(project(), {
      exports: {
        Outgoing: { type: "durable-object", state: "transferred", transferred_to: "other-worker" },
        Incoming: { type: "durable-object", state: "expecting-transfer", storage: "sqlite", transfer_from: "old-worker" },
      },
    });
    expect(config.migrations).toEqual([step("exports:create:Incoming", { newSqliteClasses: ["Incoming"] })]);
    expect(config.warnings).toEqual([
      "wrangler.jsonc: exports.Outgoing was transferred to another worker; Hearth ignores it",
      "wrangler.jsonc: exports.Incoming expects a transfer from another worker; Hearth creates it empty",
    ]);
  });
});
