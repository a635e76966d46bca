import { join, resolve } from "node:path";
import { deadLetterCycle, describeDeadLetterCycle } from "./dead-letter.ts";
import { formatKeyPath, type KeyPath } from "./key-path.ts";
import {
  asTable,
  bindingName,
  checkStorageName,
  type CheckContext,
  describeValue,
  fail,
  optionalBoolean,
  optionalNumber,
  optionalString,
  requiredString,
  tablesOf,
  warnUnknownKeys,
} from "./read.ts";
import type { D1DatabaseConfig, KvNamespaceConfig, QueueConsumerConfig, QueueProducerConfig, RateLimitConfig } from "./types.ts";

/** Queue limits (Cloudflare's): the consumer settings' defaults and maxima, and the longest delay. */
export const QUEUE_LIMITS = {
  maxBatchSize: { default: 10, max: 100 },
  maxBatchTimeout: { default: 5, max: 60 },
  maxRetries: { default: 3, max: 100 },
  maxConcurrency: { max: 250 },
  /** `delivery_delay` and `retry_delay`, seconds (12 hours). */
  maxDelaySeconds: 43_200,
} as const;

/** The two rate-limit periods Cloudflare accepts, seconds. */
export const RATE_LIMIT_PERIODS = [10, 60] as const;

/** Default `d1_databases[].migrations_table`. */
export const D1_MIGRATIONS_TABLE = "d1_migrations";

/** `kv_namespaces`: the id defaults to the binding name. */
export function readKvNamespaces(ctx: CheckContext, value: unknown, at: KeyPath): KvNamespaceConfig[] {
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["binding", "id", "preview_id", "remote", "experimental_remote"], item);
    const binding = bindingName(ctx, table, "binding", item);
    const id = optionalString(ctx, table, "id", item) ?? binding;
    checkStorageName(ctx, id, [...item, "id"]);
    optionalString(ctx, table, "preview_id", item);
    optionalBoolean(ctx, table, "remote", item);
    return { binding, id };
  });
}

/** `d1_databases`: `database_name` defaults to the binding; migrations in `<dir>/migrations`, table `d1_migrations`. */
export function readD1Databases(ctx: CheckContext, value: unknown, at: KeyPath): D1DatabaseConfig[] {
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(
      ctx,
      table,
      ["binding", "database_name", "database_id", "preview_database_id", "migrations_dir", "migrations_table", "migrations_pattern", "remote", "experimental_remote", "database_internal_env"],
      item,
    );
    const binding = bindingName(ctx, table, "binding", item);
    const databaseName = optionalString(ctx, table, "database_name", item) ?? binding;
    checkStorageName(ctx, databaseName, [...item, "database_name"]);
    const databaseId = optionalString(ctx, table, "database_id", item);
    const migrationsDir = optionalString(ctx, table, "migrations_dir", item);
    optionalString(ctx, table, "preview_database_id", item);
    optionalString(ctx, table, "migrations_pattern", item);
    optionalBoolean(ctx, table, "remote", item);
    const config: D1DatabaseConfig = {
      binding,
      databaseName,
      migrationsDir: migrationsDir === undefined ? join(ctx.dir, "migrations") : resolve(ctx.dir, migrationsDir),
      migrationsTable: optionalString(ctx, table, "migrations_table", item) ?? D1_MIGRATIONS_TABLE,
    };
    if (databaseId !== undefined) config.databaseId = databaseId;
    return config;
  });
}

/** `ratelimits`: `namespace_id` a positive integer string, `simple.limit` a positive integer, `simple.period` 10 or 60. */
export function readRateLimits(ctx: CheckContext, value: unknown, at: KeyPath): RateLimitConfig[] {
  return tablesOf(ctx, value, at).map(({ table, at: item }) => readRateLimit(ctx, table, item, ["name", "namespace_id", "simple"]));
}

/** The `type` of an `unsafe.bindings` entry that is a rate limiter (wrangler's form before `ratelimits`). */
export const UNSAFE_RATE_LIMIT_TYPE = "ratelimit";

/**
 * The rate limiters of `unsafe.bindings`: entries `{ name, type = "ratelimit", namespace_id, simple }`,
 * the form Cloudflare documented before `ratelimits`, read with the same checks. Other entries are
 * left alone (they are unsupported bindings, see `collectUnsupported`).
 */
export function readUnsafeRateLimits(ctx: CheckContext, value: unknown, at: KeyPath): RateLimitConfig[] {
  const unsafe = asTable(ctx, value, at);
  if (unsafe.bindings === undefined) return [];
  return tablesOf(ctx, unsafe.bindings, [...at, "bindings"])
    .filter(({ table }) => isUnsafeRateLimit(table))
    .map(({ table, at: item }) => readRateLimit(ctx, table, item, ["name", "type", "namespace_id", "simple"]));
}

/** Whether an `unsafe.bindings` entry is a rate limiter. */
export function isUnsafeRateLimit(table: Record<string, unknown>): boolean {
  return table.type === UNSAFE_RATE_LIMIT_TYPE;
}

function readRateLimit(ctx: CheckContext, table: Record<string, unknown>, item: KeyPath, keys: readonly string[]): RateLimitConfig {
  warnUnknownKeys(ctx, table, keys, item);
  const name = bindingName(ctx, table, "name", item);
  const namespaceId = table.namespace_id;
  if (namespaceId === undefined) fail(ctx, [...item, "namespace_id"], "is required");
  if (typeof namespaceId !== "string" || !/^\d+$/.test(namespaceId) || /^0+$/.test(namespaceId)) {
    fail(ctx, [...item, "namespace_id"], `must be a positive integer written as a string, e.g. "1001" (got ${describeValue(namespaceId)})`);
  }
  if (table.simple === undefined) fail(ctx, [...item, "simple"], "is required: { limit, period }");
  const simpleAt = [...item, "simple"];
  const simple = asTable(ctx, table.simple, simpleAt);
  warnUnknownKeys(ctx, simple, ["limit", "period"], simpleAt);
  const limit = optionalNumber(ctx, simple, "limit", simpleAt, { min: 1 });
  if (limit === undefined) fail(ctx, [...simpleAt, "limit"], "is required");
  const period = simple.period;
  if (period !== 10 && period !== 60) {
    fail(ctx, [...simpleAt, "period"], period === undefined ? "is required (10 or 60)" : `must be 10 or 60 (got ${describeValue(period)})`);
  }
  return { name, namespaceId, limit, period };
}

/** `queues.producers` and `queues.consumers`, consumer settings defaulted and checked against their maxima. */
export function readQueues(
  ctx: CheckContext,
  value: unknown,
  at: KeyPath,
): { producers: QueueProducerConfig[]; consumers: QueueConsumerConfig[] } {
  const queues = asTable(ctx, value, at);
  warnUnknownKeys(ctx, queues, ["producers", "consumers"], at);
  const producers = queues.producers === undefined ? [] : readProducers(ctx, queues.producers, [...at, "producers"]);
  const consumers = queues.consumers === undefined ? [] : readConsumers(ctx, queues.consumers, [...at, "consumers"]);
  return { producers, consumers };
}

function readProducers(ctx: CheckContext, value: unknown, at: KeyPath): QueueProducerConfig[] {
  return tablesOf(ctx, value, at).map(({ table, at: item }) => {
    warnUnknownKeys(ctx, table, ["binding", "queue", "delivery_delay", "remote", "experimental_remote"], item);
    const binding = bindingName(ctx, table, "binding", item);
    const queue = requiredString(ctx, table, "queue", item);
    checkStorageName(ctx, queue, [...item, "queue"]);
    const deliveryDelay = optionalNumber(ctx, table, "delivery_delay", item, { min: 0, max: QUEUE_LIMITS.maxDelaySeconds });
    const producer: QueueProducerConfig = { binding, queue };
    if (deliveryDelay !== undefined) producer.deliveryDelay = deliveryDelay;
    return producer;
  });
}

function readConsumers(ctx: CheckContext, value: unknown, at: KeyPath): QueueConsumerConfig[] {
  const consumers: QueueConsumerConfig[] = [];
  const paths: KeyPath[] = [];
  const seen = new Map<string, KeyPath>();
  for (const { table, at: item } of tablesOf(ctx, value, at)) {
    warnUnknownKeys(
      ctx,
      table,
      ["queue", "type", "max_batch_size", "max_batch_timeout", "max_retries", "dead_letter_queue", "max_concurrency", "visibility_timeout_ms", "retry_delay"],
      item,
    );
    const queue = requiredString(ctx, table, "queue", item);
    checkStorageName(ctx, queue, [...item, "queue"]);
    const type = optionalString(ctx, table, "type", item);
    if (type === "http_pull") {
      ctx.warnings.push(`${ctx.source.fileName}: the http_pull consumer of queue "${queue}" is not served (Hearth has no pull API); its messages wait for a worker consumer`);
      continue;
    }
    if (type !== undefined && type !== "worker") fail(ctx, [...item, "type"], `must be "worker" or "http_pull" (got ${describeValue(type)})`);
    if (table.visibility_timeout_ms !== undefined) {
      const key = formatKeyPath([...item, "visibility_timeout_ms"]);
      ctx.warnings.push(`${ctx.source.fileName}: ${key} is not supported: it applies to pull consumers, which Hearth does not serve (ignored)`);
    }
    const first = seen.get(queue);
    if (first !== undefined) fail(ctx, [...item, "queue"], `"${queue}" already has a consumer (a queue has one consumer)`);
    seen.set(queue, item);
    const limits = QUEUE_LIMITS;
    const consumer: QueueConsumerConfig = {
      queue,
      maxBatchSize: optionalNumber(ctx, table, "max_batch_size", item, { min: 1, max: limits.maxBatchSize.max }) ?? limits.maxBatchSize.default,
      maxBatchTimeout:
        optionalNumber(ctx, table, "max_batch_timeout", item, { min: 0, max: limits.maxBatchTimeout.max, integer: false }) ??
        limits.maxBatchTimeout.default,
      maxRetries: optionalNumber(ctx, table, "max_retries", item, { min: 0, max: limits.maxRetries.max }) ?? limits.maxRetries.default,
    };
    const deadLetterQueue = optionalString(ctx, table, "dead_letter_queue", item);
    if (deadLetterQueue !== undefined) {
      checkStorageName(ctx, deadLetterQueue, [...item, "dead_letter_queue"]);
      if (deadLetterQueue === queue) fail(ctx, [...item, "dead_letter_queue"], `must differ from the queue it serves ("${queue}")`);
      consumer.deadLetterQueue = deadLetterQueue;
    }
    const retryDelay = optionalNumber(ctx, table, "retry_delay", item, { min: 0, max: limits.maxDelaySeconds });
    if (retryDelay !== undefined) consumer.retryDelay = retryDelay;
    // null asks Cloudflare to scale automatically; Hearth does not scale: the same as leaving it out (1).
    const maxConcurrency =
      table.max_concurrency === null ? undefined : optionalNumber(ctx, table, "max_concurrency", item, { min: 1, max: limits.maxConcurrency.max });
    if (maxConcurrency !== undefined) consumer.maxConcurrency = maxConcurrency;
    consumers.push(consumer);
    paths.push(item);
  }
  const cycle = deadLetterCycle(consumers);
  if (cycle !== undefined) {
    const first = consumers.findIndex((consumer) => consumer.queue === cycle[0]);
    fail(
      ctx,
      [...paths[first]!, "dead_letter_queue"],
      `makes a cycle of dead letter queues: ${describeDeadLetterCycle(cycle)} (a message failing in each would move round it until retention); end it with a queue that has no dead_letter_queue`,
    );
  }
  return consumers;
}
