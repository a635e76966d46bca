/** State: the JSON tree, and for admins an editor that saves through validateStateChange. */
import { useState } from "preact/hooks";
import { agentPath, api, type AgentRef } from "../../api.ts";
import { AdminOnly } from "../../components/admin.tsx";
import { JsonView } from "../../components/json-view.tsx";
import { ActionResult, Loaded } from "../../components/status.tsx";
import { json, num } from "../../format.ts";
import { useAction, useApi } from "../../hooks.ts";

/** `GET …/state`: `stored: false` before the agent stored any (its initialState shown); a large state as the start of its JSON. */
interface StateAnswer {
  state: unknown;
  stored?: false;
  truncated?: true;
  chars?: number;
  preview?: string;
}

export function StateTab({ agent }: { agent: AgentRef }) {
  const state = useApi<StateAnswer>(agentPath(agent, "/state"));
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const action = useAction();
  async function save(event: Event) {
    event.preventDefault();
    if (editing === undefined) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(editing);
    } catch (error) {
      await action.run(() => Promise.reject(new Error(`Not valid JSON: ${(error as Error).message}`)));
      return;
    }
    const ok = await action.run(() => api(agentPath(agent, "/state"), "PUT", { state: parsed }), "State saved.");
    if (ok) {
      setEditing(undefined);
      state.reload();
    }
  }
  return (
    <Loaded resource={state}>
      {(data) => (
        <>
          <div class="row">
            <h2>State</h2>
            <button type="button" onClick={state.reload}>
              Refresh
            </button>
            {data.truncated !== true && (
              <AdminOnly what="editing state">
                {editing === undefined && (
                  <button type="button" onClick={() => setEditing(json(data.state))}>
                    Edit state
                  </button>
                )}
              </AdminOnly>
            )}
          </div>
          {data.stored === false && (
            <p class="muted" role="note">
              Nothing is stored yet: this is the class's initialState, which the agent stores when it first reads its state.
            </p>
          )}
          {data.truncated === true ? (
            <>
              <p role="note">
                The state is {num(data.chars)} characters of JSON: its first {num(data.preview?.length)} are shown. The SQL tab
                reads the rest (table _hearth_state).
              </p>
              <pre class="code" aria-label="Start of the agent state">
                {data.preview}
              </pre>
            </>
          ) : editing === undefined ? (
            <JsonView value={data.state} label="Agent state" />
          ) : (
            <form onSubmit={save}>
              <label for="state-editor">State as JSON (checked by the agent's validateStateChange)</label>
              <textarea
                id="state-editor"
                class="code"
                rows={16}
                spellcheck={false}
                value={editing}
                onInput={(e) => setEditing(e.currentTarget.value)}
              />
              <div class="row">
                <button type="submit" class="primary" disabled={action.busy}>
                  Save state
                </button>
                <button type="button" onClick={() => setEditing(undefined)}>
                  Cancel
                </button>
              </div>
            </form>
          )}
          <ActionResult error={action.error} message={action.message} />
        </>
      )}
    </Loaded>
  );
}
