/** MCP: the servers this agent is connected to, their state and tools. */
import { agentPath, type AgentRef } from "../../api.ts";
import { Loaded } from "../../components/status.tsx";
import { useApi } from "../../hooks.ts";

interface Server {
  id: string;
  name: string;
  url: string;
  state: string;
  tools: { name: string; description?: string }[];
}

export function McpTab({ agent }: { agent: AgentRef }) {
  const mcp = useApi<{ servers: Server[] }>(agentPath(agent, "/mcp"), 5000);
  return (
    <>
      <h2>MCP servers</h2>
      <Loaded resource={mcp}>
        {(data) =>
          data.servers.length === 0 ? (
            <p class="muted">No MCP servers.</p>
          ) : (
            <ul class="plain">
              {data.servers.map((s) => (
                <li key={s.id} class="card">
                  <h3>
                    {s.name} <span class="badge">{s.state}</span>
                  </h3>
                  <p class="mono small">{s.url}</p>
                  <details>
                    <summary>{s.tools.length} tools</summary>
                    <ul>
                      {s.tools.map((t) => (
                        <li key={t.name}>
                          <span class="mono">{t.name}</span>
                          {t.description !== undefined && <span class="muted"> — {t.description}</span>}
                        </li>
                      ))}
                    </ul>
                  </details>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </>
  );
}
