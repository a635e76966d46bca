/**
 * True when `value` is a class with an ancestor named `name`: how a class that extends another copy of
 * hearth's `Agent` (or `WorkflowEntrypoint`) is recognised after `instanceof` failed.
 */
export function extendsClassNamed(value: unknown, name: string): boolean {
  if (typeof value !== "function") return false;
  for (let proto: unknown = Object.getPrototypeOf(value); typeof proto === "function"; proto = Object.getPrototypeOf(proto)) {
    if (proto.name === name) return true;
  }
  return false;
}
