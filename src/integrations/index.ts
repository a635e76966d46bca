/**
 * `hearth/integrations`: outbound requests with a guard against private addresses, a fetch with
 * timeouts, retries and a circuit breaker per host, verified inbound webhooks and durable outbound ones.
 */
export {
  assertPublicDestination,
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
export { createGuardedFetch, DEFAULT_MAX_REDIRECTS, type GuardedFetch, type GuardedFetchOptions } from "./guarded-fetch.ts";
