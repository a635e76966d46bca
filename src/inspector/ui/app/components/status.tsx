/** Loading, error and empty states, announced to screen readers. */
import type { ComponentChildren } from "preact";
import type { Resource } from "../hooks.ts";

export function ErrorNote({ error }: { error: Error | string | undefined }) {
  if (error === undefined) return null;
  return (
    <p class="error" role="alert">
      {typeof error === "string" ? error : error.message}
    </p>
  );
}

/** Renders `children(data)` once loaded; otherwise a loading line or the error. */
export function Loaded<T>({
  resource,
  children,
}: {
  resource: Resource<T>;
  children: (data: T) => ComponentChildren;
}) {
  if (resource.error !== undefined && resource.data === undefined) return <ErrorNote error={resource.error} />;
  if (resource.data === undefined)
    return (
      <p class="muted" role="status">
        Loading…
      </p>
    );
  return (
    <>
      {resource.error !== undefined && <ErrorNote error={resource.error} />}
      {children(resource.data)}
    </>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted">{children}</p>;
}

/** The outcome of an action: its error (alert) or success message (status). */
export function ActionResult({ error, message }: { error: string | undefined; message: string | undefined }) {
  if (error !== undefined)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (message !== undefined)
    return (
      <p class="ok" role="status">
        {message}
      </p>
    );
  return null;
}
