/** Loading data from the API into a view. */
import { useCallback, useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** What a GET answered, and for which path. */
interface Answer<T> {
  path: string | null;
  data: T | undefined;
  error: Error | undefined;
}

/**
 * GETs `path` (skipped while null) and again on `reload()`, or every `refreshMs` when given. What was
 * read belongs to its path: once the path changes (another agent, another run), nothing of the last
 * one's answer is shown while the new one loads. `read` fetches a path (JSON by default; `apiText`
 * for text).
 */
export function useApi<T>(path: string | null, refreshMs?: number, read: (path: string) => Promise<T> = api): Resource<T> {
  const [answer, setAnswer] = useState<Answer<T>>({ path: null, data: undefined, error: undefined });
  const [fetching, setFetching] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return undefined;
    let live = true;
    setFetching(true);
    read(path).then(
      (value) => {
        if (!live) return;
        setAnswer({ path, data: value, error: undefined });
        setFetching(false);
      },
      (failure: unknown) => {
        if (!live) return;
        const error = failure instanceof Error ? failure : new Error(String(failure));
        // A refresh that failed keeps what this path showed, under the error.
        setAnswer((old) => ({ path, data: old.path === path ? old.data : undefined, error }));
        setFetching(false);
      },
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  useEffect(() => {
    if (refreshMs === undefined || path === null) return undefined;
    const timer = setInterval(() => setTick((n) => n + 1), refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, path]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const own = path !== null && answer.path === path;
  return { data: own ? answer.data : undefined, error: own ? answer.error : undefined, loading: path !== null && (!own || fetching), reload };
}

/** Runs an action (a write), remembering whether it is busy and how it failed. */
export function useAction(): {
  busy: boolean;
  error: string | undefined;
  message: string | undefined;
  run: (action: () => Promise<unknown>, success?: string) => Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const run = useCallback(async (action: () => Promise<unknown>, success?: string) => {
    setBusy(true);
    setError(undefined);
    setMessage(undefined);
    try {
      await action();
      setMessage(success);
      return true;
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, message, run };
}
