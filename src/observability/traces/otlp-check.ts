/**
 * The OTLP exporter's endpoint and headers, checked when tracing is set up (not at the first send),
 * and messages that never show a credential.
 */
import { withoutUserinfo } from "../../web/userinfo.ts";

export { withoutUserinfo };

/** The user name and password at the start of what should have been a URL but has no scheme (`user:pw@host:4318`). */
const LEADING_USERINFO = /^[^/?#\s]*@/;

/**
 * Throws unless `endpoint` is an http(s) URL without a user name or password (fetch refuses those at
 * every send). `source` says where it came from, e.g. "OTEL_EXPORTER_OTLP_ENDPOINT".
 */
export function checkOtlpEndpoint(endpoint: string, source: string): void {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    // said below
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new Error(`OTLP traces endpoint ${JSON.stringify(withoutUserinfo(endpoint).replace(LEADING_USERINFO, ""))} is not an http(s) URL (from ${source})`);
  }
  if (url.username !== "" || url.password !== "") {
    url.username = "";
    url.password = "";
    throw new Error(
      `OTLP traces endpoint ${JSON.stringify(url.href)} (from ${source}) has a user name or password in it, which is never sent: ` +
        `take them out of the URL and send them as a header, e.g. OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic%20<base64 of user:password>`,
    );
  }
}

/**
 * Throws unless every header can be sent as it is: names are HTTP tokens, values Latin-1 text without
 * line breaks. Checked with the same rules fetch applies at each send; a value is never shown.
 */
export function checkOtlpHeaders(headers: Readonly<Record<string, string>>, source: string): void {
  for (const [name, value] of Object.entries(headers)) {
    try {
      new Headers([[name, ""]]);
    } catch {
      throw new Error(`${source}: ${JSON.stringify(name)} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`);
    }
    try {
      new Headers([[name, value]]);
    } catch {
      throw new Error(`${source}: the value of header ${JSON.stringify(name)} cannot be sent: HTTP header values are Latin-1 text without line breaks`);
    }
  }
}
