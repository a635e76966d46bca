import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { AssetsConfig } from "../../src/config/types.ts";
import { createAssetRouter, type AssetRouter, type AssetRouterOptions } from "../../src/assets/index.ts";

/** Temporary asset directories and the routers over them, removed by `cleanup()` (call it in afterEach). */
export class Sites {
  readonly #dirs: string[] = [];
  readonly #routers: AssetRouter[] = [];

  /** A temp directory holding `site/` with `files` (paths relative to it), and the absolute `site` path. */
  make(files: Record<string, string | Uint8Array>): { root: string; site: string } {
    const root = mkdtempSync(join(tmpdir(), "hearth-assets-"));
    this.#dirs.push(root);
    const site = join(root, "site");
    mkdirSync(site);
    for (const [path, contents] of Object.entries(files)) {
      const file = join(site, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, contents);
    }
    return { root, site };
  }

  /** A router over a new site holding `files`. */
  router(
    files: Record<string, string | Uint8Array>,
    config: Partial<Omit<AssetsConfig, "directory">> = {},
    worker?: (request: Request) => Promise<Response>,
    options?: AssetRouterOptions,
  ): AssetRouter {
    return this.routerAt(this.make(files).site, config, worker, options);
  }

  /** A router over an existing directory. */
  routerAt(
    directory: string,
    config: Partial<Omit<AssetsConfig, "directory">> = {},
    worker?: (request: Request) => Promise<Response>,
    options?: AssetRouterOptions,
  ): AssetRouter {
    const router = createAssetRouter({ ...defaults, ...config, directory }, worker, options);
    this.#routers.push(router);
    return router;
  }

  cleanup(): void {
    for (const router of this.#routers.splice(0)) router.close();
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

const defaults: Omit<AssetsConfig, "directory"> = {
  htmlHandling: "auto-trailing-slash",
  notFoundHandling: "none",
  runWorkerFirst: false,
};

/** `router.fetch` of `http://localhost{path}`. */
export function get(router: AssetRouter, path: string, init?: RequestInit): Promise<Response> {
  return router.fetch(new Request(`http://localhost${path}`, init));
}

/** A navigation, as a browser sends it when the address bar or a link loads a page. */
export function navigate(router: AssetRouter, path: string): Promise<Response> {
  return get(router, path, { headers: { "Sec-Fetch-Mode": "navigate", Accept: "text/html" } });
}

/** A worker that answers every request with its path, counting its calls. */
export function echoWorker(): { fetch: (request: Request) => Promise<Response>; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (request) => {
      const path = new URL(request.url).pathname;
      calls.push(path);
      return new Response(`worker:${path}`, { headers: { "X-From": "worker" } });
    },
  };
}
