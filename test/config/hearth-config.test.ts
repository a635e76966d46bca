import { describe, expect, it } from "vitest";
import { defineConfig, validateHearthConfig } from "../../src/config/hearth-config.ts";
import { configError } from "./fixture.ts";

const PATH = "/srv/app/hearth.config.ts";

describe("hearth.config.ts", () => {
  it("defineConfig returns its argument (it is there for typing)", () => {
    const config = { port: 8080, durability: "strict" as const };
    expect(defineConfig(config)).toBe(config);
  });

  it("accepts every setting", () => {
    const settings = {
      port: 8080,
      host: "0.0.0.0",
      dataDir: ".hearth",
      durability: "relaxed",
      smtpPort: 2525,
      hibernateAfterMs: 60_000,
      maxLiveAgents: 500,
      maxOpenConnections: 2_000,
      maxMessageBytes: 1_048_576,
    };
    expect(validateHearthConfig(settings, PATH)).toEqual(settings);
    expect(validateHearthConfig({}, PATH)).toEqual({});
  });

  it("refuses an unknown setting, pointing bindings and vars to wrangler's config", () => {
    expect(configError(() => validateHearthConfig({ port: 1, kv_namespaces: [] }, PATH)).message).toBe(
      'hearth.config.ts: unknown setting "kv_namespaces" (settings: port, host, dataDir, durability, smtpPort, hibernateAfterMs, maxLiveAgents, maxOpenConnections, maxMessageBytes, alerts); bindings, vars and routes belong in wrangler\'s config',
    );
  });

  it.each([
    [{ port: 70_000 }, '"port" must be an integer from 0 to 65535 (got 70000)'],
    [{ port: "8080" }, '"port" must be an integer from 0 to 65535 (got "8080")'],
    [{ smtpPort: -1 }, '"smtpPort" must be an integer from 0 to 65535 (got -1)'],
    [{ hibernateAfterMs: 1.5 }, '"hibernateAfterMs" must be an integer of at least 0 (got 1.5)'],
    [{ maxLiveAgents: 0 }, '"maxLiveAgents" must be an integer of at least 1 (got 0)'],
    [{ maxOpenConnections: 0 }, '"maxOpenConnections" must be an integer of at least 1 (got 0)'],
    [{ maxMessageBytes: 0 }, '"maxMessageBytes" must be an integer of at least 1 (got 0)'],
    [{ host: "" }, '"host" must be a non-empty string (got "")'],
    [{ dataDir: 3 }, '"dataDir" must be a non-empty string (got 3)'],
    [{ durability: "fast" }, '"durability" must be "strict" or "relaxed" (got "fast")'],
  ])("refuses %j", (settings, problem) => {
    const error = configError(() => validateHearthConfig(settings, PATH));
    expect(error.message).toBe(`hearth.config.ts: ${problem}`);
    expect(error.file).toBe(PATH);
  });

  it("requires an object as the default export", () => {
    expect(configError(() => validateHearthConfig(undefined, PATH)).message).toBe(
      "hearth.config.ts: the default export must be an object of settings: export default defineConfig({ … }) (got undefined)",
    );
    expect(configError(() => validateHearthConfig([], PATH)).message).toContain("(got an array)");
  });
});
