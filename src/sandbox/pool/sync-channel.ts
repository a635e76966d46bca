/**
 * One side of a worker's sync channel: a MessagePort read synchronously with `receiveMessageOnPort`,
 * and a SharedArrayBuffer of two counters to sleep on with `Atomics.wait` until the other side posts.
 * The port carries the message (any size: structured clone, no chunking); the counter only wakes
 * the reader. A reader checks the port before sleeping and sleeps only while the counter still has
 * the value it saw, so a message posted in between is never missed.
 */
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";

export class SyncChannel<Out, In> {
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  /** The counter this side bumps when it posts. */
  readonly #outWord: number;
  /** The counter this side sleeps on. */
  readonly #inWord: number;

  constructor(port: MessagePort, signal: SharedArrayBuffer, outWord: number, inWord: number) {
    this.#port = port;
    this.#signal = new Int32Array(signal);
    this.#outWord = outWord;
    this.#inWord = inWord;
  }

  post(message: Out): void {
    this.#port.postMessage(message);
    Atomics.add(this.#signal, this.#outWord, 1);
    Atomics.notify(this.#signal, this.#outWord);
  }

  /** The next message, sleeping the thread until one comes; undefined once `timeoutMs` has passed. */
  receive(timeoutMs: number): In | undefined {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.#signal, this.#inWord);
      const received = receiveMessageOnPort(this.#port);
      if (received) return received.message as In;
      const left = until - performance.now();
      if (left <= 0) return undefined;
      Atomics.wait(this.#signal, this.#inWord, seen, left);
    }
  }

  close(): void {
    this.#port.close();
  }
}
