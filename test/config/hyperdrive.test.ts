import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProjectConfig } from "../../src/config/load.ts";
import { configError, loadJson, useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

describe("hyperdrive bindings", () => {
  it("are read as bindings Hearth provides, not as unsupported ones", () => {
    const config = loadJson(project(), {
      hyperdrive: [
        { binding: "DB", id: "a76a99bc", localConnectionString: "postgres://app:secret@localhost:5432/app" },
        { binding: "REPORTS", id: "b1" },
      ],
    });
    expect(config.hyperdrive).toEqual([
      { binding: "DB", id: "a76a99bc", localConnectionString: "postgres://app:secret@localhost:5432/app" },
      { binding: "REPORTS", id: "b1" },
    ]);
    expect(config.unsupported).toEqual([]);
    expect(config.warnings).toEqual([]);
  });

  it("are read from TOML, per environment (not inherited)", () => {
    const text = [
      'name = "app"',
      "[[hyperdrive]]",
      'binding = "DB"',
      'id = "x"',
      'localConnectionString = "postgres://app:pw@localhost/app"',
      "[env.staging]",
      'hyperdrive = [{ binding = "STAGING_DB", id = "y" }]',
    ].join("\n");
    const dir = project({ "wrangler.toml": text });
    expect(loadProjectConfig({ path: join(dir, "wrangler.toml") }).hyperdrive).toEqual([
      { binding: "DB", id: "x", localConnectionString: "postgres://app:pw@localhost/app" },
    ]);
    expect(loadProjectConfig({ path: join(dir, "wrangler.toml"), envName: "staging" }).hyperdrive).toEqual([{ binding: "STAGING_DB", id: "y" }]);
  });

  it('take an empty "localConnectionString" for none, as wrangler asks for one then', () => {
    const config = loadJson(project(), { hyperdrive: [{ binding: "DB", id: "x", localConnectionString: "" }] });
    expect(config.hyperdrive).toEqual([{ binding: "DB", id: "x" }]);
  });

  it("refuse a bad binding name, a name another binding has, and a connection string that is not a string", () => {
    expect(configError(() => loadJson(project(), { hyperdrive: [{ id: "x" }] })).message).toBe("wrangler.jsonc:3: hyperdrive[0].binding is required");
    expect(
      configError(() => loadJson(project(), { kv_namespaces: [{ binding: "DB" }], hyperdrive: [{ binding: "DB", id: "x" }] })).message,
    ).toContain("hyperdrive[0].binding is \"DB\", a name already used by kv_namespaces[0].binding");
    expect(configError(() => loadJson(project(), { hyperdrive: [{ binding: "DB", localConnectionString: 5432 }] })).message).toBe(
      "wrangler.jsonc:5: hyperdrive[0].localConnectionString must be a string, a connection string such as postgres://user:password@localhost:5432/database",
    );
  });

  it("warn of keys wrangler does not know inside one", () => {
    const config = loadJson(project(), { hyperdrive: [{ binding: "DB", id: "x", localConnectionStrng: "postgres://a@b/c" }] });
    expect(config.warnings).toEqual(['wrangler.jsonc: unknown key "localConnectionStrng" in hyperdrive[0] (ignored)']);
  });
});
