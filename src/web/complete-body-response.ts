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

const TEXT_TYPE = "text/plain;charset=UTF-8";
/** The content-type the next string body gets when it has none: `json()` and `clone()` set it just before theirs. */
let defaultType: string | undefined = TEXT_TYPE;

/** The members a subclass may override to change what the body is: the server then reads it through them. */
const BODY_MEMBERS = ["body", "bodyUsed", "text", "json", "arrayBuffer", "bytes", "blob"];
/** Per prototype: whether it leaves the body members as this class has them. */
const plainPrototypes = new WeakMap<object, boolean>();

let stringBody: (response: object) => string | undefined = () => undefined;
let take: (response: Response) => string | undefined = () => undefined;

/**
 * The Response class `hearth` installs as the global (under the Workers additions of
 * websocket/response.ts): Node's, with string bodies kept as strings until read.
 * @example
 * const response = new CompleteBodyResponse("hello");
 * await response.text(); // "hello", no stream made
 */
export class CompleteBodyResponse extends NativeResponse {
  /** The body, when it was given as a string (undefined for any other body). */
  #text: string | undefined;
  /** A native Response holding the body, made the first time the body is needed as bytes or a stream. */
  #native: Response | undefined;
  /** The body was read (as text or JSON, or taken by the server) before any native body was made. */
  #used = false;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const type = defaultType;
    defaultType = TEXT_TYPE;
    if (typeof body !== "string") {
      super(body, init);
      return;
    }
    super(null, init);
    // Node's own members (not a subclass's: its fields are not set up yet).
    const status = super.status;
    if (NULL_BODY_STATUSES.has(status)) throw new TypeError(`Response constructor: Invalid response status code ${status}`);
    this.#text = body;
    if (type !== undefined && !super.headers.has("content-type")) super.headers.set("content-type", type);
  }

  /** As Node's `Response.json`: the JSON stays a string until read. */
  static override json(data: unknown, init: ResponseInit | undefined = undefined): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Value is not JSON serializable");
    defaultType = "application/json";
    return new CompleteBodyResponse(text, init);
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    return stringBody(this) === undefined ? super.body : this.#nativeBody().body;
  }

  override get bodyUsed(): boolean {
    if (stringBody(this) === undefined) return super.bodyUsed;
    return this.#native !== undefined ? this.#native.bodyUsed : this.#used;
  }

  override text(): Promise<string> {
    const text = stringBody(this);
    if (text === undefined) return super.text();
    if (this.#native !== undefined || this.#used || !readsBackAsItself(text)) return this.#nativeBody().text();
    this.#used = true;
    return Promise.resolve(text);
  }

  override json(): Promise<unknown> {
    const text = stringBody(this);
    if (text === undefined) return super.json();
    if (this.#native !== undefined || this.#used || !readsBackAsItself(text)) return this.#nativeBody().json();
    this.#used = true;
    return new Promise((resolve) => resolve(JSON.parse(text)));
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return stringBody(this) === undefined ? super.arrayBuffer() : this.#nativeBody().arrayBuffer();
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return stringBody(this) === undefined ? super.bytes() : this.#nativeBody().bytes();
  }

  override blob(): Promise<Blob> {
    if (stringBody(this) === undefined) return super.blob();
    // The type comes from the headers as they are when the body has been read, as Node's does.
    return this.#nativeBody().arrayBuffer().then((bytes) => new NativeResponse(bytes, { headers: super.headers }).blob());
  }

  override formData(): Promise<FormData> {
    if (stringBody(this) === undefined) return super.formData();
    return this.#nativeBody().arrayBuffer().then((bytes) => new NativeResponse(bytes, { headers: super.headers }).formData());
  }

  override clone(): Response {
    const text = stringBody(this);
    if (text === undefined) return super.clone();
    const init = { status: super.status, statusText: super.statusText, headers: super.headers };
    if (this.#native !== undefined) return new NativeResponse(this.#native.clone().body, init);
    if (this.#used) throw new TypeError("Response.clone: Body has already been consumed.");
    defaultType = undefined; // the headers are copied as they are, a removed content-type too
    return new CompleteBodyResponse(text, init);
  }

  /** A native Response holding the body, for its bytes and stream (made once; read already when the string was). */
  #nativeBody(): Response {
    if (this.#native === undefined) {
      this.#native = new NativeResponse(this.#text);
      if (this.#used) void this.#native.text(); // read already: the native body is used too
    }
    return this.#native;
  }

  /** Every Response is one: those of fetch() and the platform too, as with the global it replaces. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(NativeResponse, value);
  }

  static {
    // Not `#text in` a primitive (a member called with one as `this`): that throws at once, where Node's member rejects.
    stringBody = (response) => (isObject(response) && #text in response ? response.#text : undefined);
    take = (response) => {
      if (!isObject(response) || !(#text in response) || response.#text === undefined || response.#native !== undefined || response.#used) return undefined;
      if (!plainBodyMembers(response)) return undefined;
      response.#used = true;
      return response.#text;
    };
  }
}
Object.defineProperty(CompleteBodyResponse, "name", { value: "Response" });

function isObject(value: unknown): value is object {
  return (typeof value === "object" && value !== null) || typeof value === "function";
}

/** Whether UTF-8 bytes of `text` decode to `text` again (no lone surrogate; no BOM, which decoding drops). */
function readsBackAsItself(text: string): boolean {
  return text.charCodeAt(0) !== 0xfeff && text.isWellFormed();
}

/** Whether a response's class (a subclass a user made, say) leaves the body members as they are here. */
function plainBodyMembers(response: Response): boolean {
  const prototype = Object.getPrototypeOf(response) as object;
  let plain = plainPrototypes.get(prototype);
  if (plain === undefined) {
    plain = true;
    for (let p: object | null = prototype; p !== null && p !== CompleteBodyResponse.prototype; p = Object.getPrototypeOf(p) as object | null) {
      if (BODY_MEMBERS.some((name) => Object.hasOwn(p!, name))) plain = false;
    }
    plainPrototypes.set(prototype, plain);
  }
  return plain;
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
