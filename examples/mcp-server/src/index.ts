import { McpAgent, McpServer } from "hearth/mcp";
import { z } from "zod";

/**
 * A to-do list as an MCP server. Every MCP session (every client that connects) gets its own agent:
 * its own list in its own SQLite file, kept while the client is away, the agent hibernates, or the
 * server restarts.
 */
export class Todos extends McpAgent<unknown, { done: number }> {
  server = new McpServer({ name: "todos", version: "1.0.0" });
  initialState = { done: 0 };

  init(): void {
    this.sql`CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)`;

    this.server.registerTool(
      "add_todo",
      { description: "Adds a to-do item", inputSchema: z.object({ title: z.string().min(1).max(500) }) },
      async ({ title }) => {
        const [row] = this.sql<{ id: number }>`INSERT INTO todos (title) VALUES (${title}) RETURNING id`;
        return { content: [{ type: "text", text: `Added #${row!.id}: ${title}` }] };
      },
    );

    this.server.registerTool(
      "complete_todo",
      { description: "Marks a to-do item as done", inputSchema: z.object({ id: z.number().int() }) },
      async ({ id }) => {
        const changed = this.sql<{ id: number }>`UPDATE todos SET done = 1 WHERE id = ${id} AND done = 0 RETURNING id`;
        if (changed.length === 0) return { content: [{ type: "text", text: `No open to-do #${id}` }], isError: true };
        this.setState({ done: this.state.done + 1 });
        return { content: [{ type: "text", text: `Done #${id} (${this.state.done} done in this session)` }] };
      },
    );

    this.server.registerResource("open-todos", "todos://open", { mimeType: "text/plain", description: "Open items" }, async (uri) => ({
      contents: [{ uri: uri.href, text: this.sql<{ id: number; title: string }>`SELECT id, title FROM todos WHERE done = 0 ORDER BY id`.map((t) => `#${t.id} ${t.title}`).join("\n") }],
    }));

    this.server.registerPrompt(
      "plan_day",
      { description: "Plan the day from the open items", argsSchema: z.object({ hours: z.string() }) },
      ({ hours }) => ({
        messages: [{ role: "user", content: { type: "text", text: `I have ${hours} hours. Plan my day from the resource todos://open.` } }],
      }),
    );
  }
}

export default Todos.serve("/mcp");
