import { afterEach, describe, expect, it } from "vitest";
import { assertPublicDestination, classifyAddress, OutboundAddressError, type HostLookup } from "../../src/integrations/address-guard.ts";
import { createGuardedFetch, OutboundRedirectError, type GuardedFetch } from "../../src/integrations/guarded-fetch.ts";
import { inCidr } from "../../src/integrations/ip-ranges.ts";
import { startServer, type TestServer } from "./http-server.ts";

/** Name resolution from a table, so no test depends on the network's DNS. */
function table(entries: Record<string, string | string[]>): HostLookup {
  return async (hostname) => {
    const found = entries[hostname];
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return (Array.isArray(found) ? found : [found]).map((address) => ({ address, family: address.includes(":") ? 6 : 4 }) as const);
  };
}

const servers: TestServer[] = [];
const fetches: GuardedFetch[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const guarded of fetches.splice(0)) await guarded.close();
});

describe("classifyAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared (CGNAT)"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fd12:3456::1", "private"],
    ["fc00::1", "private"],
    ["fe80::1%eth0", "link-local"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:a9fe:a9fe", "link-local"],
    ["64:ff9b::10.0.0.1", "private"],
    ["2002:0a00:0001::", "private"],
    ["::ffff:0:7f00:1", "loopback"],
    ["::ffff:0:10.0.0.1", "private"],
    ["::ffff:0:a9fe:a9fe", "link-local"],
    ["64:ff9b:1::7f00:1", "reserved"],
    ["64:ff9b:1::8.8.8.8", "reserved"],
    ["64:ff9b:1:7f00:0:100::", "reserved"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved"],
    ["2001:0:0:0:0:0:80ff:fffe", "reserved"],
  ])("%s is %s", (address, kind) => {
    expect(classifyAddress(address)?.kind).toBe(kind);
  });

  it("names the range of the refused IPv6 forms", () => {
    expect(classifyAddress("::ffff:0:7f00:1")).toEqual({ kind: "loopback", range: "127.0.0.0/8" });
    expect(classifyAddress("64:ff9b:1::7f00:1")).toEqual({ kind: "reserved", range: "64:ff9b:1::/48" });
    expect(classifyAddress("2001::1")).toEqual({ kind: "reserved", range: "2001::/32" });
  });

  it("refuses the translated, local-use NAT64 and Teredo forms of a URL's host", async () => {
    for (const host of ["[::ffff:0:7f00:1]", "[64:ff9b:1::a00:1]", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]"]) {
      await expect(assertPublicDestination(`http://${host}/`)).rejects.toMatchObject({ code: "OUTBOUND_ADDRESS_REFUSED" });
    }
  });

  it.each(["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "::ffff:0:8.8.8.8", "64:ff9b::8.8.8.8", "2001:4860:4860::8888"])("%s is public", (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });

  it("matches CIDR ranges across IPv4 and its mapped IPv6 form", () => {
    expect(inCidr("10.20.3.4", "10.20.0.0/16")).toBe(true);
    expect(inCidr("10.21.3.4", "10.20.0.0/16")).toBe(false);
    expect(inCidr("::ffff:10.20.3.4", "10.20.0.0/16")).toBe(true);
    expect(inCidr("fd00::5", "fd00::/8")).toBe(true);
  });
});

describe("assertPublicDestination", () => {
  it("lets a public destination through", async () => {
    await expect(assertPublicDestination("https://api.example.com/x", { lookup: table({ "api.example.com": "93.184.216.34" }) })).resolves.toBeUndefined();
    await expect(assertPublicDestination("https://8.8.8.8/")).resolves.toBeUndefined();
  });

  it("refuses an address literal, naming it, its range and how to allow it", async () => {
    const refused = assertPublicDestination("http://169.254.169.254/latest/meta-data/?token=secret");
    await expect(refused).rejects.toThrow(OutboundAddressError);
    await expect(refused).rejects.toThrow(
      'Outbound request to http://169.254.169.254 refused: 169.254.169.254 is a link-local address (169.254.0.0/16); allow it with allowPrivate: true or allowHosts: ["169.254.169.254"]',
    );
    await expect(assertPublicDestination("http://[::1]:8080/")).rejects.toThrow(
      'Outbound request to http://[::1]:8080 refused: ::1 is a loopback address (::1/128); allow it with allowPrivate: true or allowHosts: ["::1"]',
    );
    await expect(assertPublicDestination("http://[::ffff:7f00:1]/")).rejects.toThrow("is a loopback address (127.0.0.0/8)");
    // WHATWG URL parsing turns these spellings into 127.0.0.1 before the check.
    await expect(assertPublicDestination("http://0x7f.1/")).rejects.toThrow("127.0.0.1 is a loopback address");
    await expect(assertPublicDestination("http://2130706433/")).rejects.toThrow("127.0.0.1 is a loopback address");
  });

  it("refuses a name when any of its addresses is not public", async () => {
    const lookup = table({ "mixed.example": ["93.184.216.34", "10.0.0.8"], "cgnat.example": "100.64.1.1" });
    const error = await assertPublicDestination("https://mixed.example/hook", { lookup }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundAddressError);
    expect((error as OutboundAddressError).message).toBe(
      'Outbound request to https://mixed.example refused: "mixed.example" resolves to 10.0.0.8, a private address (10.0.0.0/8); allow it with allowPrivate: true or allowHosts: ["mixed.example", "10.0.0.8"]',
    );
    expect(error).toMatchObject({ code: "OUTBOUND_ADDRESS_REFUSED", hostname: "mixed.example", address: "10.0.0.8", kind: "private" });
    await expect(assertPublicDestination("https://cgnat.example/", { lookup })).rejects.toThrow("a shared (CGNAT) address (100.64.0.0/10)");
  });

  it("refuses schemes other than http and https, and what is not a URL", async () => {
    await expect(assertPublicDestination("file:///etc/passwd")).rejects.toThrow(
      'Outbound request to file:// refused: only http: and https: URLs are allowed, got "file:"',
    );
    await expect(assertPublicDestination("ftp://example.com/x")).rejects.toMatchObject({ code: "OUTBOUND_BAD_SCHEME" });
    await expect(assertPublicDestination("not a url")).rejects.toThrow('Outbound request refused: "not a url" is not a valid absolute URL');
    // A URL missing its scheme: the host part is shown, never the path that is often the secret.
    await expect(assertPublicDestination("hooks.slack.com/services/T0001/B0001/s3cr3t")).rejects.toThrow(
      'Outbound request refused: "hooks.slack.com…" is not a valid absolute URL',
    );
    await expect(assertPublicDestination("http://[bad/path?token=s3cr3t")).rejects.toThrow('Outbound request refused: "http://[bad…" is not a valid absolute URL');
    // Nor a user and password.
    await expect(assertPublicDestination("https://bot:hunter2@exa mple.com/hook")).rejects.toThrow('Outbound request refused: "https://…@exa mple.com…" is not a valid absolute URL');
  });

  it("a guarded fetch of a URL that does not parse names its host only, not its credentials or its path", async () => {
    const refused = (await createGuardedFetch()("https://bot:hunter2@exa mple.com/services/s3cr3t").catch((error: unknown) => error)) as Error;
    expect(refused).toBeInstanceOf(Error);
    expect(refused.message).toBe('Outbound request refused: "https://…@exa mple.com…" is not a valid absolute URL');
    expect(String(refused.stack)).not.toMatch(/hunter2|s3cr3t/);
  });

  it("allows what allowPrivate or allowHosts allows, and nothing more", async () => {
    const lookup = table({ "hooks.internal": "10.0.0.9", "a.corp.example": "10.1.0.1", "corp.example": "10.1.0.2", "other.internal": "10.0.0.10" });
    await expect(assertPublicDestination("http://127.0.0.1:9/", { allowPrivate: true })).resolves.toBeUndefined();
    await expect(assertPublicDestination("http://hooks.internal/", { lookup, allowHosts: ["hooks.internal"] })).resolves.toBeUndefined();
    await expect(assertPublicDestination("http://HOOKS.internal./", { lookup, allowHosts: ["hooks.internal"] })).resolves.toBeUndefined();
    await expect(assertPublicDestination("http://a.corp.example/", { lookup, allowHosts: ["*.corp.example"] })).resolves.toBeUndefined();
    await expect(assertPublicDestination("http://corp.example/", { lookup, allowHosts: ["*.corp.example"] })).rejects.toThrow("resolves to 10.1.0.2, a private address");
    await expect(assertPublicDestination("http://other.internal/", { lookup, allowHosts: ["10.0.0.0/24"] })).resolves.toBeUndefined();
    await expect(assertPublicDestination("http://10.0.1.1/", { lookup, allowHosts: ["10.0.0.0/24"] })).rejects.toThrow("10.0.1.1 is a private address");
  });

  it("says which allowHosts entry is malformed", async () => {
    await expect(assertPublicDestination("https://8.8.8.8/", { allowHosts: ["http://x"] })).rejects.toThrow(
      'allowHosts: "http://x" is not a host name ("hooks.internal", "*.corp.example"), an address ("10.0.0.5") or a CIDR range ("10.0.0.0/8")',
    );
    await expect(assertPublicDestination("https://8.8.8.8/", { allowHosts: [""] })).rejects.toThrow(
      'allowHosts: each entry is a host name, an address or a CIDR range, got ""',
    );
  });

  it("reports a name that does not resolve as a network error", async () => {
    const error = await assertPublicDestination("https://nowhere.example/", { lookup: table({}) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('Outbound request to https://nowhere.example failed: cannot resolve "nowhere.example" (ENOTFOUND)');
  });
});

describe("createGuardedFetch", () => {
  it("refuses 127.0.0.1 by default and reaches it when allowed", async () => {
    const server = await startServer((_req, res) => res.end("hello"));
    servers.push(server);
    const strict = createGuardedFetch();
    fetches.push(strict);
    await expect(strict(`${server.url}/x`)).rejects.toThrow(`Outbound request to ${server.url} refused: 127.0.0.1 is a loopback address (127.0.0.0/8)`);
    expect(server.received).toHaveLength(0);
    const open = createGuardedFetch({ allowHosts: ["127.0.0.1"] });
    fetches.push(open);
    const response = await open(`${server.url}/x`, { method: "POST", body: "payload" });
    expect(await response.text()).toBe("hello");
    expect(server.received[0]).toMatchObject({ method: "POST", body: "payload" });
  });

  it("follows redirects itself, re-checking every target: none leads into a private address", async () => {
    const inner = await startServer((_req, res) => res.end("internal secrets"));
    const outer = await startServer((req, res) => {
      res.statusCode = 302;
      res.setHeader("location", req.url === "/to-inner" ? `${inner.url}/admin` : "/final");
      res.end();
    });
    servers.push(inner, outer);
    // The outer server is reachable by name; the inner one's address is not allowed.
    const lookup = table({ "outer.test": "127.0.0.1" });
    const guarded = createGuardedFetch({ allowHosts: ["outer.test"], lookup });
    fetches.push(guarded);
    await expect(guarded(`http://outer.test:${outer.port}/to-inner`)).rejects.toThrow("127.0.0.1 is a loopback address");
    expect(inner.received).toHaveLength(0);
  });

  it("follows allowed redirects as fetch does: 303 turns a POST into a GET, credentials stay on their origin", async () => {
    const target = await startServer((req, res) => res.end(`${req.method} ${req.url} auth=${req.headers.authorization ?? "-"} body=${req.body}`));
    const origin = await startServer((req, res) => {
      res.statusCode = req.url === "/see-other" ? 303 : 307;
      res.setHeader("location", req.url === "/away" ? `${target.url}/there` : "/landed");
      if (req.url === "/landed") {
        res.statusCode = 200;
        res.end(`${req.method} body=${req.body}`);
        return;
      }
      res.end();
    });
    servers.push(target, origin);
    const guarded = createGuardedFetch({ allowPrivate: true });
    fetches.push(guarded);
    const seeOther = await guarded(`${origin.url}/see-other`, { method: "POST", body: "x" });
    expect(await seeOther.text()).toBe("GET body=");
    const temporary = await guarded(`${origin.url}/temporary`, { method: "POST", body: "kept" });
    expect(await temporary.text()).toBe("POST body=kept");
    const away = await guarded(`${origin.url}/away`, { method: "PUT", body: "b", headers: { authorization: "Bearer t" } });
    expect(await away.text()).toBe("PUT /there auth=- body=b");
    const manual = await guarded(`${origin.url}/away`, { redirect: "manual" });
    expect(manual.status).toBe(307);
    await expect(guarded(`${origin.url}/away`, { redirect: "error" })).rejects.toMatchObject({
      name: "OutboundRedirectError",
      message: `fetch failed: ${origin.url} answered a redirect and redirect is "error"`,
      code: "OUTBOUND_REDIRECT_REFUSED",
    });
  });

  it("stops after maxRedirects", async () => {
    const loop = await startServer((_req, res) => {
      res.statusCode = 302;
      res.setHeader("location", "/again");
      res.end();
    });
    servers.push(loop);
    const guarded = createGuardedFetch({ allowPrivate: true, maxRedirects: 3 });
    fetches.push(guarded);
    const error = await guarded(`${loop.url}/start/hook-secret?key=secret`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRedirectError);
    expect(error).toBeInstanceOf(TypeError);
    // The origin only: the path and query (often a webhook URL's secret) stay out of the message.
    expect(error).toMatchObject({
      message: `fetch failed: more than 3 redirects (maxRedirects) from ${loop.url}`,
      code: "OUTBOUND_TOO_MANY_REDIRECTS",
      origin: loop.url,
    });
    expect(loop.received).toHaveLength(4);
  });

  it("checks the address again at connect time (DNS rebinding)", async () => {
    const server = await startServer((_req, res) => res.end("should not be reached"));
    servers.push(server);
    // First answer public (the check before the request passes), the next one loopback.
    let calls = 0;
    const lookup: HostLookup = async () => [{ address: calls++ === 0 ? "93.184.216.34" : "127.0.0.1", family: 4 }];
    const guarded = createGuardedFetch({ lookup });
    fetches.push(guarded);
    const undici = await import("undici").then(
      () => true,
      () => false,
    );
    if (!undici) return; // without undici there is no connect-time hook (documented)
    await expect(guarded(`http://rebind.test:${server.port}/`)).rejects.toThrow(
      'Outbound request to rebind.test refused: "rebind.test" resolves to 127.0.0.1, a loopback address (127.0.0.0/8)',
    );
    expect(server.received).toHaveLength(0);
  });
});
