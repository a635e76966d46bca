/**
 * bindClasses: Durable Object and workflow bindings found among the entry's exports, storage names
 * (a class's own, or where a rename left its data), aliases for a class bound twice, and the error
 * of every way a binding can miss.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, DurableObject, Host, WorkflowEntrypoint, type AgentNamespace } from "../../src/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { bindClasses } from "../../src/worker/classes.ts";
import { thrown } from "../support/thrown.ts";
import { projectConfig, useTempDirs } from "./helpers.ts";

class ChatRoom extends Agent {
  hello() {
    return `room ${this.name}`;
  }
}
class Counter extends Agent {}
class Signup extends WorkflowEntrypoint {
  override async run() {}
}
class PlainObject {}
function helper() {}

const bindings = (pairs: Array<[string, string, string?]>) => pairs.map(([name, className, scriptName]) => ({ name, className, ...(scriptName ? { scriptName } : {}) }));
const workflows = (pairs: Array<[string, string, string?]>) =>
  pairs.map(([binding, className, scriptName]) => ({ binding, name: binding.toLowerCase(), className, ...(scriptName ? { scriptName } : {}) }));

describe("bindClasses", () => {
  it("binds agent classes by binding name, with their kebab-case storage names, and workflows", () => {
    const config = projectConfig({ durableObjects: bindings([["ROOMS", "ChatRoom"], ["COUNTER", "Counter"]]), workflows: workflows([["SIGNUP", "Signup"]]) });
    const bound = bindClasses(config, { ChatRoom, Counter, Signup, default: {} }, "src/index.ts", {});
    expect(bound).toEqual({
      agents: { ROOMS: ChatRoom, COUNTER: Counter },
      durableObjects: {},
      exportedClasses: {},
      aliases: {},
      storageNames: { ROOMS: "chat-room", COUNTER: "counter" },
      workflows: { SIGNUP: Signup },
    });
  });

  it("keys storage by class, not binding, and follows a rename to where the data lives", () => {
    const config = projectConfig({ durableObjects: bindings([["RENAMED_BINDING", "ChatRoom"]]) });
    expect(bindClasses(config, { ChatRoom }, "src/index.ts", {}).storageNames).toEqual({ RENAMED_BINDING: "chat-room" });
    expect(bindClasses(config, { ChatRoom }, "src/index.ts", { ChatRoom: "old-room" }).storageNames).toEqual({ RENAMED_BINDING: "old-room" });
  });

  it("makes a second binding of one class an alias of the first", () => {
    const config = projectConfig({ durableObjects: bindings([["ROOMS", "ChatRoom"], ["LOBBY", "ChatRoom"], ["MORE_ROOMS", "ChatRoom"]]) });
    const bound = bindClasses(config, { ChatRoom }, "src/index.ts", {});
    expect(bound.agents).toEqual({ ROOMS: ChatRoom });
    expect(bound.aliases).toEqual({ LOBBY: "ROOMS", MORE_ROOMS: "ROOMS" });
    expect(bound.storageNames).toEqual({ ROOMS: "chat-room" });
  });

  it("skips bindings of another worker's classes", () => {
    const config = projectConfig({
      durableObjects: bindings([["REMOTE", "Elsewhere", "other-worker"]]),
      workflows: workflows([["REMOTE_FLOW", "FarFlow", "other-worker"]]),
    });
    expect(bindClasses(config, {}, "src/index.ts", {})).toEqual({ agents: {}, durableObjects: {}, exportedClasses: {}, aliases: {}, storageNames: {}, workflows: {} });
  });

  describe("errors", () => {
    it("names the key, the class and what the entry does export", () => {
      const config = projectConfig({ durableObjects: bindings([["ROOMS", "ChatRoom"], ["MISSING", "Missing"]]) });
      expect(thrown(() => bindClasses(config, { ChatRoom, Counter, helper, answer: 42, default: () => {} }, "src/index.ts", {})).message).toBe(
        'durable_objects.bindings[1].class_name: class "Missing" is not exported by src/index.ts (it exports ChatRoom, Counter, helper)',
      );
      expect(thrown(() => bindClasses(config, { answer: 42 }, "src/index.ts", {})).message).toBe(
        'durable_objects.bindings[0].class_name: class "ChatRoom" is not exported by src/index.ts (it exports no classes)',
      );
    });

    it("prefixes the environment's section under --env", () => {
      const config = projectConfig({ envName: "staging", durableObjects: bindings([["ROOMS", "ChatRoom"]]) });
      expect(thrown(() => bindClasses(config, {}, "src/index.ts", {})).message).toBe(
        'env.staging.durable_objects.bindings[0].class_name: class "ChatRoom" is not exported by src/index.ts (it exports no classes)',
      );
    });

    it("refuses a class that extends neither Agent nor DurableObject", () => {
      const config = projectConfig({ durableObjects: bindings([["PLAIN", "PlainObject"]]) });
      expect(thrown(() => bindClasses(config, { PlainObject }, "src/index.ts", {})).message).toBe(
        'durable_objects.bindings[0].class_name: "PlainObject" is not a Durable Object class. Hearth serves classes that extend Agent ' +
          '(from "agents" or "hearth") or DurableObject (from "cloudflare:workers" or "hearth").',
      );
      expect(thrown(() => bindClasses(config, { PlainObject: { not: "a class" } }, "src/index.ts", {})).message).toContain(
        '"PlainObject" is not a Durable Object class',
      );
    });

    it("binds plain Durable Object classes beside agents", () => {
      class Room extends DurableObject {}
      const config = projectConfig({ durableObjects: bindings([["ROOMS", "Room"], ["CHAT", "ChatRoom"]]) });
      const bound = bindClasses(config, { Room, ChatRoom }, "src/index.ts", {});
      expect(bound.durableObjects).toEqual({ ROOMS: Room });
      expect(bound.agents).toEqual({ CHAT: ChatRoom });
      expect(bound.storageNames).toEqual({ ROOMS: "room", CHAT: "chat-room" });
    });

    it("keeps the exported classes the config does not bind, for sub-agents and facets", () => {
      class Room extends DurableObject {}
      class Thread extends Agent {}
      const config = projectConfig({ durableObjects: bindings([["CHAT", "ChatRoom"]]) });
      const bound = bindClasses(config, { ChatRoom, Room, Thread, helper, Signup }, "src/index.ts", {});
      expect(bound.exportedClasses).toEqual({ Room, Thread });
    });

    it("says so when a class extends another copy of Agent", () => {
      // What a project that bundles its own copy of the agents package hands over.
      class Agent {}
      class Bundled extends Agent {}
      const config = projectConfig({ durableObjects: bindings([["BUNDLED", "Bundled"]]) });
      expect(thrown(() => bindClasses(config, { Bundled }, "dist/worker.js", {})).message).toBe(
        'durable_objects.bindings[0].class_name: "Bundled" extends another copy of Agent, not the one Hearth provides. ' +
          'Import it from "agents" / "cloudflare:workers" in the project\'s source (Hearth maps them), not from a bundled or vendored copy.',
      );
    });

    it("names a missing or wrong workflow class", () => {
      const config = projectConfig({ workflows: workflows([["SIGNUP", "Signup"], ["OTHER", "Other"]]) });
      expect(thrown(() => bindClasses(config, { Signup }, "src/index.ts", {})).message).toBe(
        'workflows[1].class_name: class "Other" is not exported by src/index.ts (it exports Signup)',
      );
      expect(thrown(() => bindClasses(config, { Signup, Other: ChatRoom }, "src/index.ts", {})).message).toBe(
        'workflows[1].class_name: "Other" is not a class that extends WorkflowEntrypoint (from "cloudflare:workers").',
      );
      class WorkflowEntrypointCopy {}
      Object.defineProperty(WorkflowEntrypointCopy, "name", { value: "WorkflowEntrypoint" });
      class Vendored extends WorkflowEntrypointCopy {}
      expect(thrown(() => bindClasses(config, { Signup, Other: Vendored }, "src/index.ts", {})).message).toBe(
        'workflows[1].class_name: "Other" is not a class that extends WorkflowEntrypoint (from "cloudflare:workers"). ' +
          "It extends another copy of WorkflowEntrypoint than the one Hearth provides.",
      );
    });
  });
});

describe("bound classes on a real host", () => {
  const newDir = useTempDirs();
  const clock = new VirtualClock();
  let host: Host | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  it("serves an alias as the same agents as the binding it repeats", async () => {
    const config = projectConfig({ durableObjects: bindings([["ROOMS", "ChatRoom"], ["LOBBY", "ChatRoom"]]) });
    const bound = bindClasses(config, { ChatRoom }, "src/index.ts", {});
    host = new Host({ dataDir: newDir(), agents: bound.agents, storageNames: bound.storageNames, clock });
    for (const [alias, binding] of Object.entries(bound.aliases)) host.env[alias] = host.env[binding];
    const lobby = (host.env.LOBBY as AgentNamespace<ChatRoom>).getByName("main");
    expect(await lobby.hello()).toBe("room main");
    expect(host.env.LOBBY).toBe(host.env.ROOMS);
  });
});
