import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Host, serve, type HearthServer } from "../../src/index.ts";
import { isHostilePath } from "../../src/assets/paths.ts";
import { Sites, get } from "./fixture.ts";

const sites = new Sites();
const servers: Array<{ server: HearthServer; host: Host }> = [];
afterEach(async () => {
  for (const { server, host } of servers.splice(0)) {
    await server.close();
    await host.close();
  }
  sites.cleanup();
});

const SECRET = "TOP-SECRET-CONTENTS";

const HOSTILE = [
  "/../secret.txt",
  "/%2e%2e/secret.txt",
  "/%2E%2E/secret.txt",
  "/..%2fsecret.txt",
  "/%2e%2e%2fsecret.txt",
  "/..%5csecret.txt",
  "/.%2e/secret.txt",
  "/a/..%2f..%2fsecret.txt",
  "/%252e%252e/secret.txt",
  "//../secret.txt",
  "/index.html%00.txt",
  "/%00",
  "/..%00/secret.txt",
  "/....//secret.txt",
];

/** A site in `<root>/site` with a secret file next to it, in `<root>`. */
function siteBesideSecret(files: Record<string, string> = { "index.html": "HOME", "a/page.html": "PAGE" }) {
  const made = sites.make(files);
  writeFileSync(join(made.root, "secret.txt"), SECRET);
  return made;
}

describe("hostile request paths", () => {
  it("never reach a file outside the directory, in any not_found_handling", async () => {
    const { site } = siteBesideSecret();
    for (const notFoundHandling of ["none", "404-page", "single-page-application"] as const) {
      const router = sites.routerAt(site, { notFoundHandling });
      for (const path of HOSTILE) {
        const response = await get(router, path);
        const body = await response.text();
        expect(body, `${notFoundHandling} ${path}`).not.toContain(SECRET);
        expect([200, 307, 404], `${notFoundHandling} ${path}`).toContain(response.status);
        if (response.status === 200) expect(body).toBe("HOME"); // the SPA shell, nothing else
        if (response.status === 307) {
          // Only a canonical spelling of the same path: never protocol-relative, never a ".." segment.
          const location = response.headers.get("location")!;
          expect(location.startsWith("//"), location).toBe(false);
          expect(location.split("/"), location).not.toContain("..");
        }
      }
    }
  });

  it("never reach a file outside the directory over a real socket, raw paths included", async () => {
    const { site, root } = siteBesideSecret();
    const router = sites.routerAt(site);
    const host = new Host({ dataDir: join(root, "data"), agents: {} });
    const server = await serve({ host, port: 0, fetch: (request) => router.fetch(request) });
    servers.push({ server, host });
    for (const path of [...HOSTILE, "/a/../../secret.txt", "/a/%2e%2e/%2e%2e/secret.txt"]) {
      const reply = await rawGet(server.port, path);
      expect(reply, path).not.toContain(SECRET);
    }
    expect(await rawGet(server.port, "/a/page")).toContain("PAGE");
  });

  it("recognises NUL bytes and dot segments after decoding", () => {
    expect(isHostilePath("/a/../b")).toBe(true);
    expect(isHostilePath("/./b")).toBe(true);
    expect(isHostilePath("/b\0.txt")).toBe(true);
    expect(isHostilePath("/..")).toBe(true);
    expect(isHostilePath("/a..b/c...d/.well-known/x")).toBe(false);
  });
});

describe("files that look like secrets", () => {
  it("are served as Cloudflare would, with a warning for each", async () => {
    const router = sites.router({ ".dev.vars": "KEY=1", ".env.production": "KEY=2", "wrangler.jsonc": "{}", "docs/.env": "KEY=3", "index.html": "HOME", "environment.txt": "ok" });
    expect((await get(router, "/.dev.vars")).status).toBe(200);
    expect([...router.warnings].sort()).toEqual([
      "assets: .dev.vars: served to anyone who asks; list it in .assetsignore if it holds secrets",
      "assets: .env.production: served to anyone who asks; list it in .assetsignore if it holds secrets",
      "assets: docs/.env: served to anyone who asks; list it in .assetsignore if it holds secrets",
      "assets: wrangler.jsonc: served to anyone who asks; list it in .assetsignore if it holds secrets",
    ]);
  });
});

describe("symlinks in the assets directory", () => {
  it("follows a link to a file inside, skips links leaving the directory and linked directories, and says so", async () => {
    const { site, root } = siteBesideSecret({ "index.html": "HOME", "real/data.txt": "DATA" });
    symlinkSync(join(root, "secret.txt"), join(site, "leak.txt"));
    symlinkSync(join(site, "real", "data.txt"), join(site, "alias.txt"));
    mkdirSync(join(root, "outside-dir"));
    writeFileSync(join(root, "outside-dir", "x.txt"), SECRET);
    symlinkSync(join(root, "outside-dir"), join(site, "linked-dir"));
    symlinkSync(join(site, "nowhere"), join(site, "broken.txt"));
    const router = sites.routerAt(site);

    expect(await (await get(router, "/alias.txt")).text()).toBe("DATA");
    expect((await get(router, "/leak.txt")).status).toBe(404);
    expect((await get(router, "/linked-dir/x.txt")).status).toBe(404);
    expect([...router.warnings].sort()).toEqual([
      "assets: broken.txt: a broken symlink, skipped",
      "assets: leak.txt: a symlink that leaves the assets directory, skipped",
      "assets: linked-dir: a symlink that leaves the assets directory, skipped",
    ]);
  });
});

describe("a file replaced by a symlink after the scan", () => {
  it("is not served once its path leads out of the directory: the file itself, or one of its directories", async () => {
    const { site, root } = siteBesideSecret({ "index.html": "HOME", "app.txt": "APP", "sub/page.txt": "PAGE" });
    const router = sites.routerAt(site);
    expect(await (await get(router, "/app.txt")).text()).toBe("APP");
    expect(await (await get(router, "/sub/page.txt")).text()).toBe("PAGE");
    // A build in watch mode, a deploy script: the files change under the running server.
    rmSync(join(site, "app.txt"));
    symlinkSync(join(root, "secret.txt"), join(site, "app.txt"));
    mkdirSync(join(root, "elsewhere"));
    writeFileSync(join(root, "elsewhere", "page.txt"), SECRET);
    rmSync(join(site, "sub"), { recursive: true });
    symlinkSync(join(root, "elsewhere"), join(site, "sub"));
    for (const path of ["/app.txt", "/sub/page.txt"]) {
      const response = await get(router, path);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain(SECRET);
    }
  });
});

/** The raw HTTP reply to `GET <path>` sent byte for byte, without any client normalising the path. */
function rawGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (reply += chunk));
    socket.on("end", () => resolve(reply));
    socket.on("error", reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  });
}
