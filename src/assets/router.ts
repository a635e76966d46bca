import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AssetsConfig } from "../config/types.ts";
import { AssetServer } from "./asset-server.ts";
import { HEADERS_FILE_NAME, HeaderRules } from "./headers-file.ts";
import { ASSET_LIMITS } from "./limits.ts";
import { scanAssets } from "./manifest.ts";
import { REDIRECTS_FILE_NAME, RedirectRules } from "./redirects-file.ts";
import { parseRunWorkerFirst } from "./worker-first.ts";

/** `env.ASSETS`: the assets alone, as the worker reaches them. */
export interface AssetsBinding {
  /** The assets' answer to a request (an absolute URL, as on Cloudflare); never calls the worker. */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
}

/** Options beyond the wrangler config. */
export interface AssetRouterOptions {
  /**
   * A navigation (`Sec-Fetch-Mode: navigate`) that matches no asset gets `not_found_handling`
   * (the SPA shell, the 404 page) instead of going to the worker. Cloudflare does this from
   * compatibility date 2025-04-01 on (flag `assets_navigation_prefers_asset_serving`). Default true.
   */
  navigationPrefersAssets?: boolean;
  /** Largest file served; default 25 MiB, Cloudflare's limit. */
  maxFileBytes?: number;
  /** Most files served; default 100,000, Cloudflare's limit. */
  maxFiles?: number;
}

/** Requests split between the assets and the worker, and `env.ASSETS`. */
export interface AssetRouter {
  /** Answers a request from the assets or the worker, by Cloudflare's rules. */
  fetch(request: Request): Promise<Response>;
  /** What `env[config.binding]` becomes. */
  readonly binding: AssetsBinding;
  readonly fileCount: number;
  /** Problems that did not stop start-up: skipped `_redirects` / `_headers` lines, skipped symlinks, served `.dev.vars` / `.env` files. */
  readonly warnings: readonly string[];
  /** Closes files still being streamed; later calls of `fetch` throw. */
  close(): void;
}

/**
 * Serves `config.directory` in front of (or behind) a worker, as Cloudflare does. The directory
 * is scanned once, now: restart to pick up changes (a directory that does not exist yet serves
 * nothing until then). Without `run_worker_first`, a request goes to
 * the assets when a file answers it (after `html_handling`), or when it is a navigation and
 * `not_found_handling` has a page for it; everything else goes to the worker. `true` sends
 * everything to the worker first; an array of path patterns sends matching paths to the worker
 * and `!`-patterns to the assets, the rest as without it. With no worker, the assets answer all,
 * misses with a 404. Throws `AssetsConfigError` for a path that is not a directory, a file over 25 MiB,
 * more than 100,000 files or invalid `run_worker_first` rules.
 * @example
 * const router = createAssetRouter(project.assets, (request) => worker.fetch(request, env, ctx));
 * env.ASSETS = router.binding;
 * await serve({ host, port: 8787, fetch: (request) => router.fetch(request) });
 */
export function createAssetRouter(
  config: AssetsConfig,
  worker?: (request: Request) => Promise<Response>,
  options: AssetRouterOptions = {},
): AssetRouter {
  const workerFirst = parseRunWorkerFirst(config.runWorkerFirst);
  const manifest = scanAssets(config.directory, {
    maxFileBytes: options.maxFileBytes ?? ASSET_LIMITS.maxFileBytes,
    maxFiles: options.maxFiles ?? ASSET_LIMITS.maxFiles,
  });
  const redirectsText = readIfPresent(join(config.directory, REDIRECTS_FILE_NAME));
  const headersText = readIfPresent(join(config.directory, HEADERS_FILE_NAME));
  const redirects = redirectsText === undefined ? undefined : RedirectRules.parse(redirectsText, config.htmlHandling);
  const headers = headersText === undefined ? undefined : HeaderRules.parse(headersText);
  const assets = new AssetServer({ manifest, htmlHandling: config.htmlHandling, notFoundHandling: config.notFoundHandling, redirects, headers });
  const navigationPrefersAssets = options.navigationPrefersAssets ?? true;
  let closed = false;

  const open = (): void => {
    if (closed) throw new Error(`The assets of ${config.directory} are closed`);
  };

  const route = async (request: Request): Promise<Response> => {
    open();
    if (worker === undefined) return assets.fetch(request);
    const decision = workerFirst.decide(new URL(request.url).pathname);
    if (decision === "worker") return worker(request);
    if (decision === "assets") return assets.fetch(request);
    // A miss goes to the worker, unless not_found_handling should answer it: always with routes
    // in run_worker_first, else for navigations only (the SPA shell on a reload of /settings).
    const navigation = navigationPrefersAssets && request.headers.get("Sec-Fetch-Mode") === "navigate";
    const missHandling = workerFirst.hasRoutes || navigation ? config.notFoundHandling : "none";
    return assets.claims(request, missHandling) ? assets.fetch(request) : worker(request);
  };

  return {
    fetch: route,
    binding: {
      fetch: async (input, init) => {
        open();
        return assets.fetch(new Request(input, init));
      },
    },
    fileCount: manifest.fileCount,
    warnings: [
      ...manifest.warnings.map((line) => `assets: ${line}`),
      ...(redirects?.warnings ?? []).map((line) => `assets: ${line}`),
      ...(headers?.warnings ?? []).map((line) => `assets: ${line}`),
    ],
    close() {
      closed = true;
      assets.close();
    },
  };
}

function readIfPresent(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}
