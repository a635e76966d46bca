/** Methods: the agent's @callable methods; admins invoke them with JSON arguments. */
import { useState } from "preact/hooks";
import { agentPath, api, type AgentRef } from "../../api.ts";
import { AdminOnly } from "../../components/admin.tsx";
import { JsonView } from "../../components/json-view.tsx";
import { ActionResult, Loaded } from "../../components/status.tsx";
import { useAction, useApi } from "../../hooks.ts";

interface Method {
  name: string;
  description?: string;
  streaming: boolean;
}

export function MethodsTab({ agent }: { agent: AgentRef }) {
  const list = useApi<Method[]>(agentPath(agent, "/methods"));
  return (
    <>
      <h2>Callable methods</h2>
      <Loaded resource={list}>
        {(methods) =>
          methods.length === 0 ? (
            <p class="muted">This agent has no @callable methods.</p>
          ) : (
            <ul class="plain">
              {methods.map((m) => (
                <li key={m.name} class="card">
                  <MethodForm agent={agent} method={m} />
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </>
  );
}

function MethodForm({ agent, method }: { agent: AgentRef; method: Method }) {
  const [args, setArgs] = useState("[]");
  const [result, setResult] = useState<{ value: unknown } | undefined>(undefined);
  const action = useAction();
  const id = `args-${method.name}`;
  async function submit(event: Event) {
    event.preventDefault();
    setResult(undefined);
    await action.run(async () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(args);
      } catch {
        throw new Error("Arguments must be a JSON array.");
      }
      if (!Array.isArray(parsed)) throw new Error("Arguments must be a JSON array.");
      const answer = await api<{ result: unknown }>(
        agentPath(agent, `/methods/${encodeURIComponent(method.name)}`),
        "POST",
        { args: parsed },
      );
      setResult({ value: answer.result });
    });
  }
  return (
    <>
      <h3 class="mono">
        {method.name}
        {method.streaming && <span class="badge">streaming</span>}
      </h3>
      {method.description !== undefined && <p>{method.description}</p>}
      <AdminOnly what="invoking methods">
        <form class="row" onSubmit={submit}>
          <label for={id}>Arguments (JSON array)</label>
          <input id={id} class="code" value={args} onInput={(e) => setArgs(e.currentTarget.value)} />
          <button type="submit" disabled={action.busy}>
            Invoke {method.name}
          </button>
        </form>
      </AdminOnly>
      <ActionResult error={action.error} message={action.message} />
      {result !== undefined && <JsonView value={result.value} label={`Result of ${method.name}`} />}
    </>
  );
}
