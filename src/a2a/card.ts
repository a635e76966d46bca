/**
 * The agent card: what the agent says about itself, plus what the endpoint knows (its URL, the
 * protocol versions it speaks, its capabilities). The v1.0 shape (`supportedInterfaces`,
 * `capabilities.extendedAgentCard`) with v0.3's top-level `url`, `protocolVersion`,
 * `preferredTransport` and `supportsAuthenticatedExtendedCard`, so clients of either version read it.
 */
import type { A2AAgentCard, A2ACardInput } from "./types.ts";

/** The protocol versions the endpoint serves, newest first. */
export const SUPPORTED_VERSIONS = ["1.0", "0.3"] as const;

/** The v0.3 protocol version announced in the card's top-level `protocolVersion`. */
const V03_FULL = "0.3.0";

export interface CardFacts {
  /** Absolute URL of the JSON-RPC endpoint. */
  url: string;
  pushNotifications: boolean;
  extendedAgentCard: boolean;
}

/** Builds the card served at `…/.well-known/agent-card.json`. */
export function buildCard(input: A2ACardInput, facts: CardFacts): A2AAgentCard {
  if (typeof input?.name !== "string" || input.name.length === 0) throw new TypeError("The A2A card needs a name");
  if (typeof input.description !== "string") throw new TypeError("The A2A card needs a description");
  const extensions = input.extensions?.map((extension) => ({ ...extension, required: extension.required === true }));
  return {
    name: input.name,
    description: input.description,
    version: input.version ?? "1.0.0",
    supportedInterfaces: SUPPORTED_VERSIONS.map((protocolVersion) => ({ url: facts.url, protocolBinding: "JSONRPC", protocolVersion })),
    ...(input.provider ? { provider: input.provider } : {}),
    ...(input.documentationUrl ? { documentationUrl: input.documentationUrl } : {}),
    ...(input.iconUrl ? { iconUrl: input.iconUrl } : {}),
    capabilities: {
      streaming: true,
      pushNotifications: facts.pushNotifications,
      extendedAgentCard: facts.extendedAgentCard,
      ...(extensions ? { extensions } : {}),
    },
    ...(input.securitySchemes ? { securitySchemes: input.securitySchemes } : {}),
    ...(input.securityRequirements ? { securityRequirements: input.securityRequirements, security: input.securityRequirements } : {}),
    defaultInputModes: input.defaultInputModes ?? ["text/plain"],
    defaultOutputModes: input.defaultOutputModes ?? ["text/plain"],
    skills: input.skills ?? [],
    // v0.3 readers.
    url: facts.url,
    protocolVersion: V03_FULL,
    preferredTransport: "JSONRPC",
    supportsAuthenticatedExtendedCard: facts.extendedAgentCard,
  };
}
