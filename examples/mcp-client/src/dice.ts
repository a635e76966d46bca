import { McpAgent, McpServer } from "hearth/mcp";
import { z } from "zod";

/** A tiny MCP server, so the example runs on its own: point the assistant at any other server URL just the same. */
export class Dice extends McpAgent {
  server = new McpServer({ name: "dice", version: "1.0.0" });

  init(): void {
    this.server.registerTool(
      "roll",
      { description: "Rolls dice and returns the results", inputSchema: z.object({ count: z.number().int().min(1).max(100), sides: z.number().int().min(2).max(1000) }) },
      ({ count, sides }) => {
        const rolls = Array.from({ length: count }, () => 1 + Math.floor(Math.random() * sides));
        return { content: [{ type: "text", text: `${rolls.join(", ")} (total ${rolls.reduce((a, b) => a + b, 0)})` }] };
      },
    );
  }
}
