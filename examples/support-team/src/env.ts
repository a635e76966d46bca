/**
 * What the worker and its agents find in `env`: the bindings of wrangler.jsonc, typed with Hearth's
 * binding classes (a Cloudflare project would use `wrangler types`; see worker-configuration.d.ts).
 */
import type { AgentNamespace, D1Database, KvNamespace, RateLimiter } from "hearth";
import type { Desk } from "./desk.ts";

export interface Env {
  /** One desk per user: `/agents/desk/<user>`. */
  Desk: AgentNamespace<Desk>;
  /** Conversation memory (team memory, 7-day TTL). */
  MEMORY: KvNamespace;
  /** The execution log (migrations/0001_create_executions.sql). */
  DB: D1Database;
  /** Questions per user per minute (wrangler `ratelimits`). */
  PER_USER: RateLimiter;
  /** `down` makes the primary reply model fail, so the fallback shows. */
  PRIMARY_MODEL?: string;
  /** Attempts of each research call that fail before one answers (the step's retries show). */
  RESEARCH_FAILURES?: string;
  /** Slack incoming-webhook URL for CRITICAL answers; empty: none. */
  ALERT_WEBHOOK_URL?: string;
  /** Comma-separated non-public hosts the alert may go to (a local receiver in tests). */
  ALERT_WEBHOOK_ALLOW_HOSTS?: string;
  /** Model keys, read by `chatModelFromEnv` (OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENAI_BASE_URL, CHAT_MODEL). */
  [variable: string]: unknown;
}
