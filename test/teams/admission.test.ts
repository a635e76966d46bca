import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { combine, concurrency, rateLimit, toResponse, type FlowControlError } from "../../src/flow-control/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { fnMember, team, teamRun, type TeamEntry } from "../../src/teams/index.ts";

const gates = new Map<string, () => void>();
const started: string[] = [];
const slow = fnMember("slow", (input: string) => {
  started.push(input);
  return new Promise<string>((resolve) => gates.set(input, () => resolve(`done ${input}`)));
});

const admitted = team("a-admitted", slow, {
  admission: combine<TeamEntry>(
    rateLimit({ limit: 3, periodMs: 60_000, key: (entry) => entry.key ?? "anonymous" }),
    concurrency({ limit: 1, key: (entry) => entry.key ?? "anonymous" }),
  ),
});

class Owner extends Agent {
  async start(input: string, user: string): Promise<string> {
    return (await admitted.start(this, input, { key: user })).id;
  }
  async startOrStatus(input: string, user: string): Promise<{ id?: string; status?: number; retryAfter?: string | null }> {
    try {
      return { id: (await admitted.start(this, input, { key: user })).id };
    } catch (error) {
      const response = toResponse(error as FlowControlError);
      return { status: response.status, retryAfter: response.headers.get("Retry-After") };
    }
  }
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  gates.clear();
  started.length = 0;
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error("condition not met");
}

describe("flow control at a team's entry", () => {
  it("holds a user's second run until the first stops, and refuses the fourth in the period with 429", async () => {
    t = await createTestEnv({ agents: { Owner }, time: "system" });
    const owner = t.get<Owner>("Owner", "o") as unknown as Owner;
    const first = await owner.start("one", "alice");
    const second = owner.start("two", "alice"); // waits for alice's slot
    const other = await owner.start("three", "bob"); // bob has his own
    await until(() => started.includes("one") && started.includes("three"));
    expect(started).not.toContain("two");
    gates.get("one")!();
    expect(await owner.result(first)).toBe("done one");
    await until(() => started.includes("two"));
    gates.get("two")!();
    expect(await owner.result(await second)).toBe("done two");
    gates.get("three")!();
    expect(await owner.result(other)).toBe("done three");
    const third = owner.startOrStatus("four", "alice");
    await until(() => started.includes("four"));
    expect(await owner.startOrStatus("five", "alice")).toMatchObject({ status: 429 });
    gates.get("four")!();
    expect(await owner.result((await third).id!)).toBe("done four");
  });
});
