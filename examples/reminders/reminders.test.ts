// An ordinary vitest test of an agent, on virtual time: days pass in milliseconds.
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "hearth/testing";
import { Reminders } from "./src/index.ts";

let t: TestEnv;
beforeEach(async () => {
  t = await createTestEnv({ agents: { Reminders }, start: new Date("2030-03-01T12:00:00Z") });
});
afterEach(() => t.close());

it("delivers a reminder when its time comes", async () => {
  const board = t.get<Reminders>("Reminders", "ada");
  await board.remind(3600, "call the bank");
  await t.clock.advance("59 minutes");
  expect(await board.inbox()).toEqual([]);
  await t.clock.advance("1 minute");
  expect(await board.inbox()).toEqual([{ text: "call the bank", at: "2030-03-01T13:00:00.000Z" }]);
});

it("pushes the reminder to connected clients", async () => {
  const client = await t.connect("Reminders", "ada");
  const pushed = new Promise<string>((resolve) =>
    client.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as { type: string; text?: string };
      if (frame.type === "reminder") resolve(frame.text!);
    }),
  );
  await client.call("remind", [90, "stand up"]);
  await t.clock.advance("90 s");
  expect(await pushed).toBe("stand up");
});

it("sends the morning digest at 8:00 Paris time, once per day, and survives restarts", async () => {
  const board = t.get<Reminders>("Reminders", "ada");
  await board.remind("2030-03-05T09:00:00Z", "dentist");
  await t.restart(); // the digest schedule is not duplicated by the second onStart
  await t.clock.advance("2 days");
  const inbox = await t.get<Reminders>("Reminders", "ada").inbox();
  expect(inbox).toEqual([
    { text: "Good morning: 1 reminder(s) ahead", at: "2030-03-02T07:00:00.000Z" },
    { text: "Good morning: 1 reminder(s) ahead", at: "2030-03-03T07:00:00.000Z" },
  ]);
});

it("cancels a reminder", async () => {
  const board = t.get<Reminders>("Reminders", "ada");
  const reminder = await board.remind(60, "never mind");
  expect(await board.cancel(reminder.id)).toBe(true);
  await t.clock.advance("1 hour");
  expect(await board.inbox()).toEqual([]);
  expect(await board.upcoming()).toEqual([]);
});

it("answers a request it cannot use with 400 and the reason, and sets nothing", async () => {
  const post = async (query: string) => {
    const response = await t.fetch(`/agents/reminders/ada?${query}`, { method: "POST" });
    return { status: response.status, body: (await response.json()) as { error?: string; at?: string } };
  };
  expect(await post("in=abc")).toEqual({ status: 400, body: { error: 'in is a number of seconds, such as in=60; got "abc"' } });
  expect((await post("in=")).status).toBe(400);
  expect((await post("in=-5")).status).toBe(400);
  expect(await post("in=99999999999")).toEqual({ status: 400, body: { error: "A delay is a number of seconds from 0 to 31536000 (a year); got 99999999999" } });
  expect(await post("in=60&text=")).toEqual({ status: 400, body: { error: "A reminder's text is 1 to 1000 characters" } });
  await expect(t.get<Reminders>("Reminders", "ada").remind("next tuesday", "x")).rejects.toThrow("an ISO date such as 2030-03-05T09:00:00Z");
  expect(await t.get<Reminders>("Reminders", "ada").upcoming()).toEqual([]);
  expect(await post("in=90&text=stretch")).toEqual({ status: 200, body: { id: expect.any(String), at: "2030-03-01T12:01:30.000Z" } });
});
