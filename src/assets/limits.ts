/**
 * The limits static assets enforce, with Cloudflare's values. Each is listed in docs/bindings/assets.md.
 * @module
 */

const MiB = 1024 * 1024;

/**
 * The limits of static assets, with Cloudflare's values.
 * @example
 * createAssetRouter(config, worker, { maxFileBytes: ASSET_LIMITS.maxFileBytes * 2 }); // allow 50 MiB files
 */
export const ASSET_LIMITS = {
  /** Largest file in the assets directory (Cloudflare: 25 MiB per asset). Start-up refuses a bigger one. */
  maxFileBytes: 25 * MiB,
  /** Most files in the assets directory (Cloudflare: 100,000 on paid plans, 20,000 on the free plan). */
  maxFiles: 100_000,
  /** Most `run_worker_first` rules, negated ones included. */
  maxRunWorkerFirstRules: 100,
  /** Longest `run_worker_first` rule, in characters (the leading `!` not counted). */
  maxRunWorkerFirstRuleLength: 100,
  /** Most `_redirects` rules without a splat or placeholder (the static ones, before the first dynamic one). */
  maxStaticRedirects: 2_000,
  /** Most `_redirects` rules with a splat or placeholder. */
  maxDynamicRedirects: 100,
  /** Most `_headers` rules (path blocks). */
  maxHeaderRules: 100,
  /** Longest line of `_redirects` or `_headers`, in characters. */
  maxRuleFileLineLength: 2_000,
  /**
   * Most ranges in one `Range` header. Cloudflare ignores a header of 300 or more when it serves a
   * complete file: the whole file is sent (200), as for a header it cannot parse.
   */
  maxByteRanges: 299,
} as const;

/** Files up to this size are read in one go (and kept in memory); bigger ones are streamed from disk. */
export const STREAM_ABOVE_BYTES = 64 * 1024;

/** Memory for small files kept between requests (least recently read go first). */
export const SMALL_FILE_CACHE_BYTES = 32 * MiB;

/**
 * `Cache-Control` of every asset response, as Cloudflare sends it: the browser revalidates with the ETag each time.
 * @example
 * response.headers.get("cache-control") === ASSET_CACHE_CONTROL; // "public, max-age=0, must-revalidate"
 */
export const ASSET_CACHE_CONTROL = "public, max-age=0, must-revalidate";

/**
 * Bad assets configuration or directory contents, found at start-up.
 * @example
 * try {
 *   createAssetRouter(config, worker);
 * } catch (error) {
 *   if (error instanceof AssetsConfigError) console.error(error.message); // names the file or rule and the limit
 * }
 */
export class AssetsConfigError extends Error {
  override name = "AssetsConfigError";
}
