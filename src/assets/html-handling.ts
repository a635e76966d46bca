/**
 * `html_handling` and `not_found_handling`: which file a decoded request path is served from,
 * or where it is redirected to (Cloudflare answers these redirects with 307).
 * @module
 */
import type { HtmlHandling, NotFoundHandling } from "../config/types.ts";
import type { AssetFile } from "./manifest.ts";

/** What a path resolves to: a file (200, or 404 for a 404 page), a canonical path to redirect to, or nothing. */
export type Intent = { file: AssetFile; status: 200 | 404 } | { redirectTo: string } | undefined;

type Lookup = (pathname: string) => AssetFile | undefined;

interface Resolution {
  readonly htmlHandling: HtmlHandling;
  readonly notFoundHandling: NotFoundHandling;
  readonly lookup: Lookup;
}

/**
 * Resolves a decoded path under the configured handling. With "auto-trailing-slash", `/about`
 * serves `about.html`, `/blog/` serves `blog/index.html`, and `/about.html` or `/blog` redirect
 * to those canonical paths; "force-…" and "drop-…" put every HTML page with or without the slash;
 * "none" serves exact paths only. A path no file answers falls to `not_found_handling`.
 * @example
 * resolveIntent("/about.html", "auto-trailing-slash", "none", (p) => manifest.get(p)); // { redirectTo: "/about" }
 */
export function resolveIntent(pathname: string, htmlHandling: HtmlHandling, notFoundHandling: NotFoundHandling, lookup: Lookup): Intent {
  return resolve(pathname, { htmlHandling, notFoundHandling, lookup }, true);
}

function resolve(path: string, r: Resolution, redirects: boolean): Intent {
  const serve = (file: AssetFile | undefined): Intent => (file ? { file, status: 200 } : undefined);
  // A redirect to `to` only when `to` is no file of its own and resolves (without redirecting
  // again) to the very file `from`: otherwise it would loop or land on something else.
  const redirect = (from: string, to: string): Intent => {
    if (!redirects) return undefined;
    const file = r.lookup(from);
    if (file === undefined || r.lookup(to) !== undefined) return undefined;
    const target = resolve(to, r, false);
    return target && "file" in target && target.file === file ? { redirectTo: to } : undefined;
  };
  const first = (...candidates: Array<() => Intent>): Intent => {
    for (const candidate of candidates) {
      const intent = candidate();
      if (intent) return intent;
    }
    return undefined;
  };
  const exact = r.lookup(path);

  switch (r.htmlHandling) {
    case "none":
      return serve(exact) ?? notFound(path, r);
    case "auto-trailing-slash":
      return (
        first(
          ...autoTrailingSlash(path, exact, serve, redirect, r.lookup),
          () => serve(exact),
          () => serve(r.lookup(`${path}.html`)),
          () => redirect(`${path}/index.html`, `${path}/`),
        ) ?? notFound(path, r)
      );
    case "force-trailing-slash":
      return (
        first(
          ...forceTrailingSlash(path, exact, serve, redirect, r.lookup),
          () => serve(exact),
          () => redirect(`${path}.html`, `${path}/`),
          () => redirect(`${path}/index.html`, `${path}/`),
        ) ?? notFound(path, r)
      );
    case "drop-trailing-slash":
      return (
        first(
          ...dropTrailingSlash(path, exact, serve, redirect, r.lookup),
          () => serve(exact),
          () => serve(r.lookup(`${path}.html`)),
          () => serve(r.lookup(`${path}/index.html`)),
        ) ?? notFound(path, r)
      );
  }
}

type Serve = (file: AssetFile | undefined) => Intent;
type Redirect = (from: string, to: string) => Intent;

/** The steps special to a path's ending, tried before the generic ones; "auto": `x.html` at `/x`, `x/index.html` at `/x/`. */
function autoTrailingSlash(path: string, exact: AssetFile | undefined, serve: Serve, redirect: Redirect, lookup: Lookup): Array<() => Intent> {
  if (path.endsWith("/index")) {
    const dir = path.slice(0, -"index".length); // "/x/"
    if (exact) return [() => serve(exact)];
    return [() => redirect(`${path}.html`, dir), () => redirect(`${dir.slice(0, -1)}.html`, dir.slice(0, -1))];
  }
  if (path.endsWith("/index.html")) {
    const dir = path.slice(0, -"index.html".length);
    return [() => redirect(path, dir), () => redirect(`${dir.slice(0, -1)}.html`, dir.slice(0, -1))];
  }
  if (path.endsWith("/")) {
    const base = path.slice(0, -1);
    return [() => serve(lookup(`${path}index.html`)), () => redirect(`${base}.html`, base)];
  }
  if (path.endsWith(".html")) {
    const base = path.slice(0, -".html".length);
    return [() => redirect(path, base), () => redirect(`${base}/index.html`, `${base}/`)];
  }
  return [];
}

/** "force": every HTML page at a path ending in `/` (`x.html` and `x/index.html` both at `/x/`). */
function forceTrailingSlash(path: string, exact: AssetFile | undefined, serve: Serve, redirect: Redirect, lookup: Lookup): Array<() => Intent> {
  if (path.endsWith("/index")) {
    const dir = path.slice(0, -"index".length);
    if (exact) return [() => serve(exact)];
    return [() => redirect(`${path}.html`, dir), () => redirect(`${dir.slice(0, -1)}.html`, dir)];
  }
  if (path.endsWith("/index.html")) {
    const dir = path.slice(0, -"index.html".length);
    return [() => redirect(path, dir), () => redirect(`${dir.slice(0, -1)}.html`, dir)];
  }
  if (path.endsWith("/")) {
    return [() => serve(lookup(`${path}index.html`)), () => serve(lookup(`${path.slice(0, -1)}.html`))];
  }
  if (path.endsWith(".html")) {
    const base = path.slice(0, -".html".length);
    // With both `x.html` and `x/index.html`, `/x/` is the latter's: `x.html` stays at its own path.
    return [() => redirect(path, `${base}/`), () => serve(exact), () => redirect(`${base}/index.html`, `${base}/`)];
  }
  return [];
}

/** "drop": every HTML page at a path without a trailing `/` (the root `/` excepted). */
function dropTrailingSlash(path: string, exact: AssetFile | undefined, serve: Serve, redirect: Redirect, lookup: Lookup): Array<() => Intent> {
  if (path.endsWith("/index")) {
    if (exact) return [() => serve(exact)];
    if (path === "/index") return [() => redirect("/index.html", "/")];
    const base = path.slice(0, -"/index".length);
    return [() => redirect(`${base}.html`, base), () => redirect(`${path}.html`, base)];
  }
  if (path.endsWith("/index.html")) {
    if (path === "/index.html") return [() => redirect(path, "/")];
    const base = path.slice(0, -"/index.html".length);
    // With both `x.html` and `x/index.html`, `/x` is the former's: `x/index.html` stays at its own path.
    return [() => redirect(path, base), () => serve(exact), () => redirect(`${base}.html`, base)];
  }
  if (path.endsWith("/")) {
    if (path === "/") return [() => serve(lookup("/index.html"))];
    const base = path.slice(0, -1);
    return [() => redirect(`${base}.html`, base), () => redirect(`${base}/index.html`, base)];
  }
  if (path.endsWith(".html")) {
    const base = path.slice(0, -".html".length);
    return [() => redirect(path, base), () => redirect(`${base}/index.html`, base)];
  }
  return [];
}

/** `not_found_handling`: the SPA shell `/index.html` (200), or the nearest `404.html` up the tree (404). */
function notFound(path: string, r: Resolution): Intent {
  if (r.notFoundHandling === "single-page-application") {
    const shell = r.lookup("/index.html");
    return shell ? { file: shell, status: 200 } : undefined;
  }
  if (r.notFoundHandling === "404-page") {
    for (let dir = path.slice(0, path.lastIndexOf("/")); ; dir = dir.slice(0, dir.lastIndexOf("/"))) {
      const page = r.lookup(`${dir}/404.html`);
      if (page) return { file: page, status: 404 };
      if (dir === "") return undefined;
    }
  }
  return undefined;
}
