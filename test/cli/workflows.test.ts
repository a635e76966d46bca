import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, cleanup, requireBuild, runCli, tempDir, until } from "./helpers.ts";

const APP = join(FIXTURES, "workflow-app.ts");

beforeAll(requireBuild);
afterEach(cleanup);

describe("workflows in hearth start", () => {
  it("binds exported workflows (renamed by config), and resumes a sleeping instance after SIGKILL with no user action", async () => {
    const data = await tempDir();
    const first = runCli(["start", APP, "--port", "0", "--data", data]);
    const url = await first.ready();
    expect(first.stdout()).toMatch(/workflow\s+COFFEE/);
    const created = (await (await fetch(`${url}/brew?id=morning`, { method: "POST" })).json()) as { id: string };
    expect(created.id).toBe("morning");
    await until(async () => {
      const status = (await (await fetch(`${url}/brew?id=morning`)).json()) as { status: string };
      return status.status === "waiting";
    }, "the instance to start steeping");
    first.proc.kill("SIGKILL");
    await first.exited();

    const second = runCli(["start", APP, "--port", "0", "--data", data]);
    const again = await second.ready();
    await until(async () => {
      const status = (await (await fetch(`${again}/brew?id=morning`)).json()) as { status: string };
      return status.status === "complete";
    }, "the instance to finish after the restart");
    expect(await (await fetch(`${again}/brew?id=morning`)).json()).toEqual({ status: "complete", output: "2 cups ground, brewed" });
    // /metrics counts the instances by status, from the workflow store.
    expect(await (await fetch(`${again}/metrics`)).text()).toMatch(/^hearth_workflows\{(?:thread="0",)?status="complete"\} 1$/m);
  });
});
