// What `wrangler types` makes of this project: `env` from "cloudflare:workers" is the worker's Env.
// (Hearth maps the module at run time; this only types it.)
declare module "cloudflare:workers" {
  export const env: import("./src/env.ts").Env;
}
