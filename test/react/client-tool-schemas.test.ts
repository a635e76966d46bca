/** The client tools' schemas `useAgentChat` sends with a request, as the Agents SDK builds them. */
import { describe, expect, it } from "vitest";
import { extractClientToolSchemas } from "../../src/react/chat-messages.ts";

describe("extractClientToolSchemas", () => {
  it("sends the schema of each tool that can run, under its older name inputSchema too", () => {
    const schema = { type: "object", properties: { city: { type: "string" } } } as const;
    expect(
      extractClientToolSchemas({
        current: { description: "where", parameters: schema, execute: () => "here" },
        older: { description: "where, the old way", inputSchema: schema, execute: () => "here" },
        both: { parameters: schema, inputSchema: { type: "string" }, execute: () => "here" },
        schemaOnly: { parameters: schema },
      }),
    ).toEqual([
      { name: "current", description: "where", parameters: schema },
      { name: "older", description: "where, the old way", parameters: schema },
      { name: "both", parameters: schema },
    ]);
  });

  it("is undefined when no tool can run", () => {
    expect(extractClientToolSchemas({ schemaOnly: { parameters: { type: "object" } } })).toBeUndefined();
    expect(extractClientToolSchemas(undefined)).toBeUndefined();
  });
});
