/**
 * A client's copy of the conversation against the stored one (merge.ts): what replaces what.
 */
import type { UIMessage } from "ai";
import { describe, expect, test } from "vitest";
import { mergeIncoming } from "../../src/chat/merge.ts";

const user = (id: string, text = id): UIMessage => ({ id, role: "user", parts: [{ type: "text", text }] });
const answer = (id: string, parts: UIMessage["parts"] = [{ type: "text", text: id }]): UIMessage => ({ id, role: "assistant", parts });
const ids = (messages: UIMessage[]) => messages.map((m) => m.id);

describe("mergeIncoming", () => {
  test("a new message after everything the client knows replaces nothing", () => {
    expect(ids(mergeIncoming([user("u1"), answer("a1"), user("u2")], [user("u1"), answer("a1")], false))).toEqual(["u1", "a1", "u2"]);
  });

  test("an answer stored after the client's last shared message stays, before the client's new message", () => {
    expect(ids(mergeIncoming([user("u1"), user("u2")], [user("u1"), answer("a1")], false))).toEqual(["u1", "a1", "u2"]);
    // Another tab's whole turn, too.
    const stored = [user("u1"), answer("a1"), user("u2"), answer("a2")];
    expect(ids(mergeIncoming([user("u1"), answer("a1"), user("u3")], stored, false))).toEqual(["u1", "a1", "u2", "a2", "u3"]);
  });

  test("an edit (nothing new) and a regenerate replace the conversation exactly", () => {
    const stored = [user("u1", "old"), answer("a1")];
    const edited = mergeIncoming([user("u1", "new")], stored, false);
    expect(edited).toEqual([user("u1", "new")]);
    expect(ids(mergeIncoming([user("u1")], stored, true))).toEqual(["u1"]);
    // A message the client dropped before its last shared one is dropped.
    expect(ids(mergeIncoming([user("u1"), user("u2"), user("u3")], [user("u1"), answer("a1"), user("u2")], false))).toEqual(["u1", "u2", "u3"]);
  });

  test("tool parts the server has further along win over the client's copy", () => {
    const asked = answer("a1", [{ type: "tool-ask", toolCallId: "c1", state: "input-available", input: {} }]);
    const answered = answer("a1", [{ type: "tool-ask", toolCallId: "c1", state: "output-available", input: {}, output: 42 }]);
    expect(mergeIncoming([user("u1"), asked, user("u2")], [user("u1"), answered], false)[1]).toEqual(answered);
    // …but never move a part backwards.
    expect(mergeIncoming([user("u1"), answered], [user("u1"), asked], true)[1]).toEqual(answered);
  });
});
