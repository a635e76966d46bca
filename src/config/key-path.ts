/** A path into the parsed config: object keys and array indexes, e.g. `["ratelimits", 0, "simple"]`. */
export type KeyPath = readonly (string | number)[];

const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/**
 * The path as people write it: `env.staging.ratelimits[0].simple.period`. Keys that are not plain
 * words are quoted (`vars["a.b"]`) so the text stays unambiguous.
 */
export function formatKeyPath(path: KeyPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}
