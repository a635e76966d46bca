import type { SecretsStoreSecretConfig } from "../config/types.ts";
import type { SecretStore } from "./store.ts";

/** What a binding needs from the store: reading one value. */
export type SecretReader = Pick<SecretStore, "get">;

/**
 * A `secrets_store_secrets` binding: `await env.API_KEY.get()`. Each call reads through the store, so
 * a `hearth secret put` is seen without a restart. The value is never kept on the object, so logging
 * the binding shows only the secret's name.
 *
 * Cloudflare's `store_id` names an account-wide store; Hearth has one store per environment, the one
 * `hearth secret put --env <name>` writes, so the `store_id` is not used.
 *
 * @example
 * const binding = new SecretsStoreSecret(openSecretStore({ dataDir: ".hearth" }), "API_KEY");
 * const key = await binding.get(); // throws Error('Secret "API_KEY" not found') when it was never put
 */
export class SecretsStoreSecret {
  readonly #store: SecretReader;
  readonly #secretName: string;

  constructor(store: SecretReader, secretName: string) {
    this.#store = store;
    this.#secretName = secretName;
  }

  /** The secret's value. Rejects with `Secret "<name>" not found` (Miniflare's text) when it does not exist. */
  async get(): Promise<string> {
    const value = this.#store.get(this.#secretName);
    if (value === undefined) throw new Error(`Secret "${this.#secretName}" not found`);
    return value;
  }

  /** What `console.log(env.API_KEY)` shows: the name, never the value. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `SecretsStoreSecret { secretName: ${JSON.stringify(this.#secretName)} }`;
  }

  toJSON(): { secretName: string } {
    return { secretName: this.#secretName };
  }
}

/**
 * The `env` entries for an environment's `secrets_store_secrets`, keyed by binding name.
 *
 * @example
 * Object.assign(env, secretsStoreBindings(config.secretsStoreSecrets, store));
 */
export function secretsStoreBindings(configs: readonly SecretsStoreSecretConfig[], store: SecretReader): Record<string, SecretsStoreSecret> {
  return Object.fromEntries(configs.map((config) => [config.binding, new SecretsStoreSecret(store, config.secretName)]));
}
