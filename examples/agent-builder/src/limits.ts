/**
 * The example's own limits: what one customer may store and run. Each is checked where the input
 * arrives, with an error that names the limit; nothing stored is touched by a refused input.
 */
export const BUILDER_LIMITS = {
  /** Customer names: 1-32 of a-z, 0-9 and "-", starting with a letter or digit (they go in URLs). */
  customerName: /^[a-z0-9][a-z0-9-]{0,31}$/,
  /** Customers under one builder. */
  maxCustomers: 1000,
  /** The instructions (the model's system prompt), in characters. */
  maxInstructionsChars: 4000,
  /** Tools per customer. */
  maxTools: 8,
  /** Tool names: 1-32 of a-z, 0-9 and "_", starting with a letter (the model calls them by name). */
  toolName: /^[a-z][a-z0-9_]{0,31}$/,
  /** A tool's description, in characters. */
  maxToolDescriptionChars: 300,
  /** A tool's source, in characters. */
  maxToolCodeChars: 16 * 1024,
  /** The text a tool is called with, in characters. */
  maxToolInputChars: 4000,
  /** CPU one tool call may use in the sandbox. */
  toolCpuMs: 50,
  /** Wall-clock time of one tool call. */
  toolWallMs: 1000,
  /** Heap of one tool's sandbox. */
  toolMemoryBytes: 16 * 1024 * 1024,
  /** Console output plus result of one tool call. */
  toolMaxOutputBytes: 64 * 1024,
} as const;
