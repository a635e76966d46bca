/**
 * A stub's `fetch` as `fetch` itself treats its signal: an aborted signal rejects with its reason (an
 * AbortError) at once, whatever the actor does; the actor sees the abort on `request.signal`, and an
 * answer it still gives is cancelled, being for nobody.
 * @example return answerUnlessAborted(request, () => dispatcher.request(className, name, request));
 */
export function answerUnlessAborted(request: Request, send: () => Promise<Response>): Promise<Response> {
  const { signal } = request;
  if (signal.aborted) return Promise.reject(signal.reason);
  const answered = send();
  return new Promise<Response>((resolve, reject) => {
    const abort = (): void => {
      reject(signal.reason);
      answered.then((late) => late.body?.cancel().catch(() => {}), () => {});
    };
    signal.addEventListener("abort", abort, { once: true });
    void answered.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}
