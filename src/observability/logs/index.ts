/**
 * Structured logs: a pino-compatible JSON-lines logger with redaction, the running agent's context on
 * every line, console capture inside agents, a pretty printer for `hearth dev`, and an adapter for an
 * application's own pino instance.
 * @example
 * import { createLogger, captureConsole } from "hearth/observability/logs";
 * const log = createLogger({ level: "info", pretty: process.stdout.isTTY });
 * const restore = captureConsole(log);
 * @packageDocumentation
 */
export { createLogger, MAX_LINE_BYTES, TRUNCATED_MSG_CHARS, TRUNCATED_STACK_CHARS, type LoggerOptions, type LogDestination } from "./logger.ts";
export { fromPino, type PinoLike, type PinoLogMethod, type PinoAdapterOptions } from "./pino-adapter.ts";
export { captureConsole, CAPTURED_CONSOLE_METHODS } from "./console-capture.ts";
export {
  runWithLogContext,
  currentLogContext,
  setTraceIdSource,
  insideAgentEvent,
  type LogContext,
  type LogContextFields,
} from "./context.ts";
export { formatPretty, prettyLine, colorsWanted, type PrettyOptions } from "./pretty.ts";
export { compileRedactor, parseRedactPath, isSecretKey, MAX_PATH_SEGMENTS, type RedactOptions } from "./redact.ts";
export { serializeError, type SerializedError } from "./serialize-error.ts";
export { LEVEL_VALUES, LEVEL_NAMES, type LevelName, type LevelSetting } from "./levels.ts";
export { MAX_DEPTH } from "./sanitize.ts";
export type { Logger, LogFn, LogRecord } from "./types.ts";
