/**
 * `hearth/integrations`: outbound requests with a guard against private addresses, a fetch with
 * timeouts, retries and a circuit breaker per host, verified inbound webhooks and durable outbound ones.
 */
export {
  assertPublicDestination,
  assertPublicLiteral,
  classifyAddress,
  compileAllowList,
  OutboundAddressError,
  type AddressClass,
  type AddressGuardOptions,
  type AddressKind,
  type AllowList,
  type HostLookup,
  type LookupAddress,
  type OutboundAddressErrorCode,
} from "./address-guard.ts";
export {
  createGuardedFetch,
  DEFAULT_MAX_REDIRECTS,
  OutboundRedirectError,
  type GuardedFetch,
  type GuardedFetchOptions,
  type OutboundRedirectErrorCode,
} from "./guarded-fetch.ts";
export {
  CircuitBreakers,
  CircuitOpenError,
  DEFAULT_CIRCUIT_BREAKER,
  type CircuitBreakerOptions,
  type CircuitState,
} from "./circuit-breaker.ts";
export {
  createFetch,
  DEFAULT_FETCH_RETRY,
  DEFAULT_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_RETRY_AFTER_MS,
  MAX_FETCH_TIMEOUT_MS,
  type FetchPolicyOptions,
  type PolicyFetch,
} from "./fetch-policy.ts";
export { retryAfterMs } from "../web/retry-after.ts";
export {
  DEFAULT_MAX_WEBHOOK_BODY_BYTES,
  DEFAULT_TOLERANCE_SECONDS,
  signWebhook,
  verifyWebhook,
  WebhookRequestError,
  WebhookSignatureError,
  type SignWebhookOptions,
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  type WebhookInput,
  type WebhookSignatureReason,
  type WebhookStyle,
} from "./webhook-signature.ts";
export { handleWebhook, MAX_DELIVERY_ID_LENGTH, type HandleWebhookOptions, type WebhookDelivery } from "./inbound.ts";
export { DEFAULT_DELIVERY_RETENTION, type DeliveryRetention } from "./delivery-log.ts";
export {
  DEFAULT_WEBHOOK_RETRY,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  discardDeadLetter,
  getWebhook,
  listDeadLetters,
  MAX_OUTBOUND_BODY_BYTES,
  MAX_OUTBOUND_HEADERS_BYTES,
  retryDeadLetter,
  sendWebhook,
  WEBHOOK_DELIVER_TASK,
  type OutboundWebhook,
  type SendWebhookOptions,
  type SlackMessage,
  type WebhookMessage,
} from "./outbound.ts";
export { MAX_DEAD_LETTERS, MAX_DELIVERED_KEPT, MAX_PENDING_WEBHOOKS, type OutboxStatus } from "./outbox-store.ts";
export { MAX_WEBHOOK_ERROR_BODY_BYTES, MAX_WEBHOOK_RETRY_AFTER_MS } from "./outbound-delivery.ts";
