import { styleText } from "node:util";

/** Prints a warning that does not stop the server, to stderr. */
export function printWarning(message: string): void {
  process.stderr.write(`${styleText("yellow", "warning", { stream: process.stderr })} ${message}\n`);
}

/** Prints an error to stderr, prefixed so it stands out from agent logs. */
export function printError(message: string): void {
  process.stderr.write(`${styleText("red", "error", { stream: process.stderr })} ${message}\n`);
}
