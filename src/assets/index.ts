/**
 * Static assets: a wrangler project's `assets` served as Cloudflare serves them, and `env.ASSETS`.
 * @module
 */
export { createAssetRouter, type AssetRouter, type AssetRouterOptions, type AssetsBinding } from "./router.ts";
export { ASSET_LIMITS, ASSET_CACHE_CONTROL, AssetsConfigError } from "./limits.ts";
export { contentTypeOf } from "./content-type.ts";
