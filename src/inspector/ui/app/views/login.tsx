/** Signing in with the viewer token, and unlocking writes with the admin token. */
import { useState } from "preact/hooks";
import { ApiError } from "../api.ts";
import { Dialog } from "../components/dialog.tsx";
import { signIn } from "../session.ts";
import { unlockOpen } from "../theme.ts";

export function LoginView({ error }: { error: string | undefined }) {
  const [token, setToken] = useState("");
  const [failure, setFailure] = useState<string | undefined>(error);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    try {
      await signIn(token.trim());
    } catch (caught) {
      setFailure(caught instanceof ApiError && caught.status === 401 ? "That token was not accepted." : String(caught));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" class="center">
      <form class="card login" onSubmit={submit}>
        <h1>Hearth inspector</h1>
        <p>
          Open the link printed in the banner of <code>hearth dev</code> or <code>hearth start --inspector</code>, or
          paste its token here.
        </p>
        <TokenField id="token" label="Token" value={token} onInput={setToken} failure={failure} />
        <button type="submit" class="primary" disabled={busy || token.trim() === ""}>
          Sign in
        </button>
      </form>
    </main>
  );
}

export function UnlockDialog() {
  const [token, setToken] = useState("");
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const close = () => {
    unlockOpen.value = false;
    setToken("");
    setFailure(undefined);
  };
  async function submit(event: Event) {
    event.preventDefault();
    try {
      const role = await signIn(token.trim());
      if (role !== "admin") {
        setFailure("That is the viewer token; writes need the admin token.");
        return;
      }
      close();
    } catch (caught) {
      setFailure(caught instanceof ApiError && caught.status === 401 ? "That token was not accepted." : String(caught));
    }
  }
  return (
    <Dialog open={unlockOpen.value} title="Unlock writes" onClose={close}>
      <form onSubmit={submit}>
        <p>
          The admin token is in <code>&lt;dataDir&gt;/inspector/admin-token</code> or{" "}
          <code>HEARTH_INSPECTOR_ADMIN_TOKEN</code>. Every change is written to the audit log.
        </p>
        <TokenField id="admin-token" label="Admin token" value={token} onInput={setToken} failure={failure} />
        <div class="row">
          <button type="submit" class="primary" disabled={token.trim() === ""}>
            Unlock
          </button>
          <button type="button" onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A token input with its label and the last refusal, as both forms show it. */
function TokenField(props: { id: string; label: string; value: string; onInput: (value: string) => void; failure: string | undefined }) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <input id={props.id} type="password" autocomplete="off" value={props.value} onInput={(e) => props.onInput(e.currentTarget.value)} />
      {props.failure !== undefined && (
        <p class="error" role="alert">
          {props.failure}
        </p>
      )}
    </>
  );
}
