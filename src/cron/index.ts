/** Cloudflare Cron Triggers on Hearth: `triggers.crons` calling the worker's `scheduled` handler. */
export { CronTriggers, CRON_RETRY_DELAY_MS, type CronTriggersOptions } from "./triggers.ts";
export { parseCronTrigger, type CronSchedule } from "./expression.ts";
export type { ScheduledController } from "./controller.ts";
