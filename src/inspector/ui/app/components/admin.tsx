/** Write controls: shown to admins; viewers see why they are missing and how to unlock them. */
import type { ComponentChildren } from "preact";
import { isAdmin } from "../session.ts";
import { unlockOpen } from "../theme.ts";

export function AdminOnly({ children, what }: { children: ComponentChildren; what: string }) {
  if (isAdmin()) return <>{children}</>;
  return (
    <p class="muted locked">
      Read-only: {what} needs the admin token.{" "}
      <button type="button" class="link" onClick={() => (unlockOpen.value = true)}>
        Unlock writes
      </button>
    </p>
  );
}
