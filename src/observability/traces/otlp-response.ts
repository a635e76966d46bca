/** What a collector's 2xx answer says it did not take. */

/** OTLP's `partialSuccess`: spans the collector refused although it answered 2xx, and why. */
export interface PartialSuccess {
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

/** The `partialSuccess` of an OTLP/JSON `ExportTraceServiceResponse`, when there is one worth telling. */
export function partialSuccessOf(body: string): PartialSuccess | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined; // an empty body (or one in protobuf) is full success
  }
  const partial = (parsed as { partialSuccess?: { rejectedSpans?: unknown; errorMessage?: unknown } } | null)?.partialSuccess;
  if (typeof partial !== "object" || partial === null) return undefined;
  const rejected = Number(partial.rejectedSpans ?? 0); // an int64: a string in JSON, a number from lenient senders
  const rejectedSpans = Number.isSafeInteger(rejected) && rejected > 0 ? rejected : 0;
  const errorMessage = typeof partial.errorMessage === "string" ? partial.errorMessage : "";
  return rejectedSpans > 0 || errorMessage ? { rejectedSpans, errorMessage } : undefined;
}
