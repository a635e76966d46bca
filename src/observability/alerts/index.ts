export { AlertEngine, type AlertEngineOptions, type AlertsConfig } from "./alert-engine.ts";
export { AlertValidationError, validateRule } from "./validate-rule.ts";
export { validateContactPoint, validateSilence } from "./validate-targets.ts";
export type { ErrorSource, ErrorSample } from "./error-source.ts";
export { histogramQuantile } from "./quantile.ts";
export { describeRule } from "./describe.ts";
export { slackPayload, webhookPayload, SLACK_COLOURS, type Notification } from "./payloads.ts";
export { ALERT_LIMITS } from "./limits.ts";
export type * from "./types.ts";
