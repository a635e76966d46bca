import { createHash } from "node:crypto";
import { isFinal, type ReceivedMail, type RecipientOutcome } from "./deliver.ts";

interface Entry<T> {
  readonly value: T;
  readonly expiresAt: number;
}

/** A map whose entries expire, holding at most `maxEntries` (the oldest are forgotten first). */
class ExpiringMap<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    const now = Date.now();
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && entry.expiresAt > now) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

/**
 * What the webhook remembers between requests: the outcome of each message for each recipient, so
 * a provider's retry, or a replayed request, never hands a recipient the same message twice. In
 * memory: a restart forgets.
 */
export class DeliveryLedger {
  readonly #outcomes: ExpiringMap<Promise<RecipientOutcome>>;
  readonly #retentionMs: number;

  constructor(retentionSeconds: number, maxEntries: number) {
    this.#retentionMs = retentionSeconds * 1000;
    this.#outcomes = new ExpiringMap(maxEntries);
  }

  /** The outcome, final or being decided, of an earlier delivery of `messageKey` to `recipient`. */
  outcomeOf(messageKey: string, recipient: string): Promise<RecipientOutcome> | undefined {
    return this.#outcomes.get(entryKey(messageKey, recipient));
  }

  /** Records a delivery as it starts; it is forgotten if it ends in a temporary failure (a retry must run it again). */
  record(messageKey: string, recipient: string, outcome: Promise<RecipientOutcome>): void {
    const key = entryKey(messageKey, recipient);
    this.#outcomes.set(key, outcome, Date.now() + this.#retentionMs);
    void outcome.then((settled) => {
      if (!isFinal(settled) && this.#outcomes.get(key) === outcome) this.#outcomes.delete(key);
    });
  }
}

/**
 * How a message is recognised when it comes again: a digest of its bytes. A provider's retry sends
 * the same bytes; a Message-ID alone would let another message that reuses it (anyone can write
 * any Message-ID) be dropped as a duplicate.
 */
export function messageKeyOf(mail: ReceivedMail): string {
  return `sha256:${createHash("sha256").update(mail.raw).digest("hex")}`;
}

function entryKey(messageKey: string, recipient: string): string {
  return `${recipient.toLowerCase()}\n${messageKey}`;
}
