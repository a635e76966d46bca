/** Credentials written into URLs (`scheme://user:password@host`), kept out of what is shown or logged. */

/** The user name and password of a URL in a text (`scheme://user:pw@host`), up to the last `@` before the host. */
const USERINFO = /\b([a-z][a-z\d+.-]*:\/\/)[^/?#\s]*@/gi;

/**
 * `text` without the user name and password of any URL in it.
 * @example
 * withoutUserinfo("failed to reach http://user:pw@collector:4318"); // "failed to reach http://collector:4318"
 * withoutUserinfo("https://alice:p@ss@mcp.example.com/mcp"); // "https://mcp.example.com/mcp"
 */
export function withoutUserinfo(text: string): string {
  return text.replace(USERINFO, "$1");
}
