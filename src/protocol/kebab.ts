/**
 * Maps an agent class name to the URL segment it is served under.
 *
 * Rules (the same ones the server uses when it registers classes):
 * - A name written entirely in capitals (`"MCP"`, `"MY_AGENT"`) is lower-cased
 *   and its underscores become dashes: `"my-agent"`.
 * - Otherwise every ASCII capital letter starts a new dash-separated word,
 *   a single dash this produces at the very start is dropped, underscores
 *   become dashes and a single trailing dash is dropped.
 *
 * Dependency-free so the server and the browser share the exact same mapping.
 *
 * @example
 * ```ts
 * camelCaseToKebabCase("ChatRoom");     // "chat-room"
 * camelCaseToKebabCase("MyMCPServer");  // "my-m-c-p-server"
 * camelCaseToKebabCase("ADMIN_TOOLS");  // "admin-tools"
 * ```
 */
export function camelCaseToKebabCase(name: string): string {
  const upper = name.toUpperCase();
  if (name === upper && name !== name.toLowerCase()) {
    return name.toLowerCase().split("_").join("-");
  }
  let out = "";
  for (const ch of name) {
    const isAsciiCapital = ch >= "A" && ch <= "Z";
    out += isAsciiCapital ? `-${ch.toLowerCase()}` : ch;
  }
  if (out.startsWith("-")) out = out.slice(1);
  out = out.split("_").join("-");
  if (out.endsWith("-")) out = out.slice(0, -1);
  return out;
}
