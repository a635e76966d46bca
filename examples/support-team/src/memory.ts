/**
 * Conversation memory: the last exchanges of each user, in the MEMORY KV namespace for 7 days
 * (team memory from hearth/teams). A run reads it at the start and writes it at the end, so a later
 * run — on any desk, after any restart — knows what was asked before.
 */
import { env } from "cloudflare:workers";
import { teamMemory } from "hearth/teams";

/** One question and the start of its answer. */
export interface Exchange {
  question: string;
  answer: string;
  /** Epoch milliseconds. */
  at: number;
}

/** Seven days, in seconds: how long a conversation is remembered after its last message. */
export const MEMORY_TTL_SECONDS = 604_800;
/** Exchanges kept per user (the oldest go first). */
export const MAX_EXCHANGES = 10;
/** Characters of each answer kept. */
export const MAX_ANSWER_CHARS = 300;

/** Keys are `team:conversations:<user>` in the MEMORY namespace. */
export const conversations = teamMemory(env.MEMORY, "conversations", { ttlSeconds: MEMORY_TTL_SECONDS });

/** The user's exchanges, oldest first (none after 7 days of silence). */
export async function recall(user: string): Promise<Exchange[]> {
  return (await conversations.get<Exchange[]>(user)) ?? [];
}

/**
 * Adds an exchange and stores the conversation for another 7 days. It reads the conversation again
 * rather than reusing what the run's intake read: another run of the same user may have ended since.
 */
export async function remember(user: string, exchange: Exchange): Promise<Exchange[]> {
  const next = [...(await recall(user)), { ...exchange, answer: exchange.answer.slice(0, MAX_ANSWER_CHARS) }].slice(-MAX_EXCHANGES);
  await conversations.put(user, next);
  return next;
}
