/**
 * Responses whose body is a complete string (`Response.json(…)`, `new Response("text")`) keep it as a
 * string until someone asks for it as a stream.
 *
 * Why: Node's Response turns every string body into bytes and a ReadableStream when it is made, and
 * the server then reads that stream back, chunk by chunk, to write it. For the small JSON answers
 * agents give, that is ~3 µs of a ~30 µs request. Here the object is still a real Response (made by
 * Node's constructor with no body, so every brand check, `instanceof` and header behaves as
 * before); only its body members are its own. `body`, `arrayBuffer()`, `blob()`, `bytes()` and
 * `formData()` build the native body on first use and answer from it; `text()` and `json()` answer
 * from the string. The server takes the string as it is ({@link takeCompleteBody}) and writes it
 * in one call.
 */

const NATIVE: unique symbol = Symbol.for("hearth.nativeResponse");
/**
 * Node's Response, as it was before anything here replaced the global: kept under a global symbol so
 * that a second copy of this module (a test runner that loads modules again) still finds it.
 */
const NativeResponse: typeof Response = ((globalThis as unknown as Record<symbol, typeof Response>)[NATIVE] ??= globalThis.Response);

/** Statuses whose response may not have a body (the Fetch standard's "null body status"). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

let take: (response: Response) => string | undefined = () => undefined;

/**
 * The Response class `hearth` installs as the global (under the Workers additions of
 * websocket/response.ts): Node's, with string bodies kept as strings until read.
 * @example
 * const response = new CompleteBodyResponse("hello");
 * await response.text(); // "hello", no stream made
 */
export class CompleteBodyResponse extends NativeResponse {
  /** The body, while no native body was made for it. */
  #text: string | undefined;
  /** A native Response holding the body, made the first time the body is needed as bytes or a stream. */
  #native: Response | undefined;
  /** The body was read (as text or JSON, or taken by the server) before any native body was made. */
  #used = false;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    if (typeof body !== "string") {
      super(body, init);
      return;
    }
    super(null, init);
    if (NULL_BODY_STATUSES.has(this.status)) throw new TypeError(`Response constructor: Invalid response status code ${this.status}`);
    this.#text = body;
    if (!this.headers.has("content-type")) this.headers.set("content-type", "text/plain;charset=UTF-8");
  }

  /** As Node's `Response.json`: the JSON stays a string until read. */
  static override json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Value is not JSON serializable");
    // Set first, so the constructor's text/plain default does not apply.
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new CompleteBodyResponse(text, { status: init?.status, statusText: init?.statusText, headers });
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    return this.#text === undefined ? super.body : this.#nativeBody().body;
  }

  override get bodyUsed(): boolean {
    if (this.#native !== undefined) return this.#native.bodyUsed;
    return this.#text === undefined ? super.bodyUsed : this.#used;
  }

  override text(): Promise<string> {
    if (this.#text === undefined) return super.text();
    if (this.#native !== undefined || this.#used) return this.#nativeBody().text();
    this.#used = true;
    return Promise.resolve(this.#text);
  }

  override json(): Promise<unknown> {
    if (this.#text === undefined) return super.json();
    if (this.#native !== undefined || this.#used) return this.#nativeBody().json();
    const text = this.#text;
    this.#used = true;
    return new Promise((resolve) => resolve(JSON.parse(text)));
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#text === undefined ? super.arrayBuffer() : this.#nativeBody().arrayBuffer();
  }

  override blob(): Promise<Blob> {
    return this.#text === undefined ? super.blob() : this.#nativeBody().blob();
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#text === undefined ? super.bytes() : this.#nativeBody().bytes();
  }

  override formData(): Promise<FormData> {
    return this.#text === undefined ? super.formData() : this.#nativeBody().formData();
  }

  override clone(): Response {
    if (this.#text === undefined) return super.clone();
    if (this.bodyUsed) throw new TypeError("Response.clone: Body has already been consumed.");
    const body = this.#native === undefined ? this.#text : this.#native.clone().body;
    return new CompleteBodyResponse(body, { status: this.status, statusText: this.statusText, headers: this.headers });
  }

  /** The native Response that holds the body (made once; already read when the string was). */
  #nativeBody(): Response {
    if (this.#native === undefined) {
      this.#native = new NativeResponse(this.#text, { headers: this.headers });
      if (this.#used) void this.#native.text(); // read already: the native body is used too
    }
    return this.#native;
  }

  /** Every Response is one: those of fetch() and the platform too, as with the global it replaces. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(NativeResponse, value);
  }

  static {
    take = (response) => {
      if (!(#text in response)) return undefined;
      if (response.#text === undefined || response.#native !== undefined || response.#used) return undefined;
      response.#used = true;
      return response.#text;
    };
  }
}

/**
 * The body of a {@link CompleteBodyResponse} that nobody has read, as its string, and marks it read;
 * undefined for any other response (whose body is then read as a stream).
 * @example
 * const text = takeCompleteBody(response);
 * if (text !== undefined) outgoing.end(text);
 */
export function takeCompleteBody(response: Response): string | undefined {
  return take(response);
}
