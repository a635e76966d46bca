import { afterEach, describe, expect, it } from "vitest";
import { Sites, echoWorker, get } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

const FILES = { "index.html": "HOME", "new.html": "NEW", "posts/hello.html": "HELLO", "users/id.html": "USER PAGE" };

function withRedirects(lines: string[], worker?: (request: Request) => Promise<Response>) {
  return sites.router({ ...FILES, _redirects: lines.join("\n") }, {}, worker);
}

async function redirectOf(response: Response): Promise<[number, string | null]> {
  return [response.status, response.headers.get("location")];
}

describe("_redirects", () => {
  it("redirects with the given status (302 by default), before any asset is looked up", async () => {
    const router = withRedirects(["/old /new 301", "/temp /new", "/see /new 303", "/keep /new 307", "/perm /new 308", "/new /elsewhere 301"]);
    expect(await redirectOf(await get(router, "/old"))).toEqual([301, "/new"]);
    expect(await redirectOf(await get(router, "/temp"))).toEqual([302, "/new"]);
    expect(await redirectOf(await get(router, "/see"))).toEqual([303, "/new"]);
    expect(await redirectOf(await get(router, "/keep"))).toEqual([307, "/new"]);
    expect(await redirectOf(await get(router, "/perm"))).toEqual([308, "/new"]);
    expect(await redirectOf(await get(router, "/new"))).toEqual([301, "/elsewhere"]); // even though new.html exists
    expect(await redirectOf(await get(router, "/old", { method: "POST", body: "x" }))).toEqual([301, "/new"]);
  });

  it("fills splats and placeholders, keeps the query unless the target has one, and goes to other hosts", async () => {
    const router = withRedirects([
      "/blog/* /posts/:splat 301",
      "/u/:id/profile /users/:id 302",
      "/search /find?q=default 302",
      "/docs/* https://docs.example.com/:splat 301",
      "/twice //x//y 302",
    ]);
    expect(await redirectOf(await get(router, "/blog/2024/hello"))).toEqual([301, "/posts/2024/hello"]);
    expect(await redirectOf(await get(router, "/blog/a?ref=x"))).toEqual([301, "/posts/a?ref=x"]);
    expect(await redirectOf(await get(router, "/u/42/profile"))).toEqual([302, "/users/42"]);
    expect((await get(router, "/u/42/extra/profile")).status).toBe(404); // a placeholder is one segment
    expect(await redirectOf(await get(router, "/search?q=mine"))).toEqual([302, "/find?q=default"]);
    expect(await redirectOf(await get(router, "/docs/api/v1?x=1"))).toEqual([301, "https://docs.example.com/api/v1?x=1"]);
    expect(await redirectOf(await get(router, "/twice"))).toEqual([302, "/x/y"]);
  });

  it("leaves a name it did not capture as written, even one Object.prototype has (:constructor, :toString)", async () => {
    const router = withRedirects(["/docs/:page /help/:page?from=:constructor#:toString 301"]);
    expect(await redirectOf(await get(router, "/docs/intro"))).toEqual([301, "/help/intro?from=:constructor#:toString"]);
    const headers = sites.router({ ...FILES, _headers: "/*\n  X-Note: :valueOf" });
    expect((await get(headers, "/new")).headers.get("x-note")).toBe(":valueOf");
  });

  it("rewrites with 200: the target's asset at the requested URL; a rewrite to nothing is the assets' 404, not the worker's", async () => {
    const worker = echoWorker();
    const router = withRedirects(["/users/:id /users/id 200", "/ghost /nothing-here 200"], worker.fetch);
    const user = await get(router, "/users/123");
    expect([user.status, await user.text()]).toEqual([200, "USER PAGE"]);
    const ghost = await get(router, "/ghost");
    expect(ghost.status).toBe(404);
    expect(await ghost.text()).toBe("");
    expect(worker.calls).toEqual([]);
  });

  it("takes the first matching rule; exact rules are looked up before patterns", async () => {
    const router = withRedirects(["/a/b /exact 302", "/a/* /first 302", "/a/:x /second 302"]);
    expect((await get(router, "/a/b")).headers.get("location")).toBe("/exact");
    expect((await get(router, "/a/c")).headers.get("location")).toBe("/first");
  });

  it("skips invalid lines with a warning naming the line and the reason, and keeps the rest", async () => {
    const router = withRedirects([
      "# a comment",
      "/ok /new 301 # trailing comment",
      "/lonely",
      "/a /b 302 extra",
      "https://example.com/x /y",
      "/bad-target relative/path",
      "/bad-status /new 404",
      "/loop/* /index.html",
      "/ /index",
      "/ok /again",
      "/proxy https://example.com/x 200",
      "/two/*/splats/* /x",
      `/${"x".repeat(2001)} /y`,
    ]);
    expect(await redirectOf(await get(router, "/ok"))).toEqual([301, "/new"]);
    expect(router.warnings).toEqual([
      'assets: _redirects:3: skipped, expected "<from> <to> [status]", got 1 words',
      'assets: _redirects:4: skipped, expected "<from> <to> [status]", got 4 words',
      "assets: _redirects:5: skipped, the source must be a path, not https://example.com/x",
      'assets: _redirects:6: skipped, the target must start with "/" or "https://", got relative/path',
      "assets: _redirects:7: skipped, the status must be 200, 301, 302 (the default), 303, 307 or 308, got 404",
      'assets: _redirects:8: skipped, it loops: serving /index.html redirects to a path without "index" or ".html", which this rule catches again',
      'assets: _redirects:9: skipped, it loops: serving /index redirects to a path without "index" or ".html", which this rule catches again',
      "assets: _redirects:10: skipped, a second rule for /ok",
      "assets: _redirects:11: skipped, a rewrite (200) must point to a path, got https://example.com/x",
      "assets: _redirects:12: skipped, /two/*/splats/* repeats a splat or placeholder",
      "assets: _redirects:13: skipped, longer than 2000 characters",
    ]);
  });

  it("keeps at most 2,000 exact-path rules, skipping each one over", async () => {
    const lines = Array.from({ length: 2001 }, (_, i) => `/s${i} /t${i}`);
    const router = withRedirects(lines);
    expect((await get(router, "/s1999")).headers.get("location")).toBe("/t1999");
    expect((await get(router, "/s2000")).status).toBe(404);
    expect(router.warnings).toEqual(["assets: _redirects:2001: skipped, at most 2000 rules without a splat or placeholder"]);
  });

  it("keeps at most 100 rules with a splat or placeholder, and says where it stopped", async () => {
    const lines = Array.from({ length: 101 }, (_, i) => `/p${i}/* /to${i}`);
    const router = withRedirects(lines);
    expect((await get(router, "/p99/x")).headers.get("location")).toBe("/to99");
    expect((await get(router, "/p100/x")).status).toBe(404);
    expect(router.warnings).toEqual(["assets: _redirects:101: this and the following lines skipped, at most 100 rules with a splat or placeholder"]);
  });
});
