/** Loads a heavy view's chunk only when it is first shown (keeps the first load small). */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorNote } from "./status.tsx";

export function lazy<P extends object>(load: () => Promise<{ default: ComponentType<P> }>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  return function Lazy(props: P) {
    const [component, setComponent] = useState<ComponentType<P> | undefined>(() => loaded);
    const [error, setError] = useState<Error | undefined>(undefined);
    useEffect(() => {
      if (component !== undefined) return;
      load().then(
        (module) => {
          loaded = module.default;
          setComponent(() => module.default);
        },
        (failure: unknown) => setError(failure instanceof Error ? failure : new Error(String(failure))),
      );
    }, [component]);
    if (error !== undefined) return <ErrorNote error={error} />;
    if (component === undefined)
      return (
        <p class="muted" role="status">
          Loading…
        </p>
      );
    const Component = component;
    return <Component {...props} />;
  };
}
