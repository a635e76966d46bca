import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProjectConfig } from "../../src/config/index.ts";
import { secretNameClashes } from "../../src/secrets/index.ts";
import { tempDirs } from "./helpers.ts";

const dirs = tempDirs();

describe("secretNameClashes", () => {
  it("finds every kind of binding a config puts on env, and the vars", () => {
    const path = join(dirs.root(), "wrangler.jsonc");
    writeFileSync(
      path,
      JSON.stringify({
        main: "src/index.ts",
        vars: { SHARED: "v", TOKEN: "stand-in" },
        secrets: { required: ["TOKEN"] },
        durable_objects: { bindings: [{ name: "ROOMS", class_name: "Room" }] },
        migrations: [{ tag: "v1", new_sqlite_classes: ["Room"] }],
        kv_namespaces: [{ binding: "CACHE" }],
        d1_databases: [{ binding: "DB" }],
        ratelimits: [{ name: "LIMITER", namespace_id: "1", simple: { limit: 10, period: 60 } }],
        queues: { producers: [{ binding: "JOBS", queue: "jobs" }] },
        workflows: [{ binding: "FLOW", name: "flow", class_name: "Flow" }],
        worker_loaders: [{ binding: "LOADER" }],
        assets: { directory: "public", binding: "ASSETS" },
        send_email: [{ name: "MAIL" }],
        secrets_store_secrets: [{ binding: "STRIPE", store_id: "s", secret_name: "STRIPE_KEY" }],
        hyperdrive: [{ binding: "PG", id: "h", localConnectionString: "postgres://u:p@127.0.0.1:5432/app" }],
        r2_buckets: [{ binding: "BUCKET", bucket_name: "b" }],
      }),
    );
    const config = loadProjectConfig({ path });
    const names = ["SHARED", "ROOMS", "CACHE", "DB", "LIMITER", "JOBS", "FLOW", "LOADER", "ASSETS", "MAIL", "STRIPE", "PG", "BUCKET"];
    expect(secretNameClashes([...names, "TOKEN", "STRIPE_KEY", "FREE"], config).map((clash) => `${clash.name}: ${clash.declared}`)).toEqual([
      "SHARED: the var SHARED",
      "ROOMS: the durable_objects binding ROOMS",
      "CACHE: the kv_namespaces binding CACHE",
      "DB: the d1_databases binding DB",
      "LIMITER: the ratelimits binding LIMITER",
      "JOBS: the queues.producers binding JOBS",
      "FLOW: the workflows binding FLOW",
      "LOADER: the worker_loaders binding LOADER",
      "ASSETS: the assets binding ASSETS",
      "MAIL: the send_email binding MAIL",
      "STRIPE: the secrets_store_secrets binding STRIPE",
      "PG: the hyperdrive binding PG",
      "BUCKET: the r2_buckets binding BUCKET",
    ]);
  });
});
