/**
 * The models of the team: the one `chatModelFromEnv` picks (a real one when a key is set, else the
 * offline demo model), and a primary that is "down" by configuration so the fallback can be seen.
 */
import type { LanguageModelV4 } from "@ai-sdk/provider";
import { chatModelFromEnv, describeModelChoice } from "hearth/chat";
import { env } from "cloudflare:workers";

/** A real model when OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_BASE_URL is set; the offline demo model otherwise. */
export const choice = await chatModelFromEnv(env);
console.log(`  ${describeModelChoice(choice)}`);

/** Thrown by a model that is out of service. */
export class ModelUnavailableError extends Error {
  override name = "ModelUnavailableError";
}

/**
 * A model that fails every call, as a provider in an outage does. The team's `fallback` moves on
 * to the next option when it throws.
 * @example
 * const primary = env.PRIMARY_MODEL === "down" ? outOfService(model, "PRIMARY_MODEL=down") : model;
 */
export function outOfService(model: LanguageModelV4, why: string): LanguageModelV4 {
  const fail = () => Promise.reject(new ModelUnavailableError(`${model.modelId} is unavailable (${why})`));
  return { specificationVersion: "v4", provider: model.provider, modelId: model.modelId, supportedUrls: {}, doGenerate: fail, doStream: fail };
}

/** The model that writes support replies first; down when PRIMARY_MODEL is "down". */
export const primaryModel: LanguageModelV4 = env.PRIMARY_MODEL === "down" ? outOfService(choice.model, "PRIMARY_MODEL=down") : choice.model;
/** The model every other step uses, and the support replies' backup. */
export const model: LanguageModelV4 = choice.model;
