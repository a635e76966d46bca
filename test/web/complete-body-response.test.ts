import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CompleteBodyResponse, takeCompleteBody } from "../../src/web/complete-body-response.ts";
import { writeResponse } from "../../src/gateway/node-adapter.ts";
import { withCors } from "../../src/gateway/cors.ts";

/** Node's own Response, the behaviour to match. */
const NativeResponse = Object.getPrototypeOf(CompleteBodyResponse) as typeof Response;

type Make = (R: typeof Response) => Response;
type Use = (response: Response) => unknown;

/** What `use` gives (awaited), or the error's class and message, for either Response. */
async function outcome(make: Make, use: Use, R: typeof Response): Promise<unknown> {
  try {
    const response = make(R);
    const value = await use(response);
    if (value instanceof ArrayBuffer || value instanceof Uint8Array) return { bytes: [...new Uint8Array(value)] };
    if (value instanceof Blob) return { blob: value.type, text: await value.text() };
    if (value instanceof Response) return { status: value.status, headers: [...value.headers], text: await value.text() };
    if (value instanceof FormData) return { form: [...value.entries()] };
    if (value instanceof ReadableStream) return { stream: await new Response(value).text() };
    return { value };
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

const makes: Record<string, Make> = {
  "Response.json(object)": (R) => R.json({ a: 1, text: "é ✓" }),
  "Response.json with status and headers": (R) => R.json([1, 2], { status: 201, statusText: "Made", headers: { "x-a": "1" } }),
  "Response.json with its own content-type": (R) => R.json("s", { headers: { "Content-Type": "application/vnd.x+json" } }),
  "Response.json(undefined)": (R) => R.json(undefined),
  "Response.json with a null-body status": (R) => R.json({}, { status: 204 }),
  "Response.json with status 600": (R) => R.json({}, { status: 600 }),
  "new Response(text)": (R) => new R("hello ✓"),
  "new Response(empty text)": (R) => new R(""),
  "new Response(text, headers)": (R) => new R("<p>", { status: 404, headers: [["content-type", "text/html"], ["set-cookie", "a=1"]] }),
  "new Response(text) with status 304": (R) => new R("x", { status: 304 }),
  "new Response(text) with a bad statusText": (R) => new R("x", { statusText: "a\nb" }),
  "new Response(text with a byte-order mark)": (R) => new R('\uFEFF{"a":1}'),
  "new Response(text with a lone surrogate)": (R) => new R("a\uD800b"),
  "new Response(form text)": (R) => new R("a=1&b=%C3%A9", { headers: { "content-type": "application/x-www-form-urlencoded" } }),
  "new Response(bytes)": (R) => new R(new Uint8Array([1, 2, 3])),
  "new Response(null)": (R) => new R(null),
};

const uses: Record<string, Use> = {
  "status and headers": (r) => ({ status: r.status, statusText: r.statusText, ok: r.ok, type: r.type, url: r.url, redirected: r.redirected, headers: [...r.headers] }),
  "text()": (r) => r.text(),
  "json()": (r) => r.json(),
  "arrayBuffer()": (r) => r.arrayBuffer(),
  "bytes()": (r) => r.bytes(),
  "blob()": (r) => r.blob(),
  "formData()": (r) => r.formData(),
  "body stream": (r) => r.body ?? "no body",
  "bodyUsed before and after text()": async (r) => [r.bodyUsed, await r.text(), r.bodyUsed],
  "text() twice": async (r) => [await r.text(), await r.text()],
  "json() after text()": async (r) => [await r.text(), await r.json()],
  "body after text()": async (r) => [await r.text(), r.body === null ? null : { locked: r.body.locked }, r.bodyUsed],
  "text() after the body is read": async (r) => [await new Response(r.body).text(), await r.text()],
  "the same body stream twice": (r) => r.body === r.body,
  "clone(), then both read": async (r) => {
    const copy = r.clone();
    return [copy instanceof NativeResponse, copy.status, [...copy.headers], await copy.text(), await r.text()];
  },
  "clone() after text()": async (r) => [await r.text(), r.clone()],
  "clone() after the body was taken": async (r) => {
    const reader = r.body?.getReader();
    await reader?.read();
    return r.clone();
  },
  "content-type changed after the body was read as a stream, then formData()": (r) => {
    void r.body;
    r.headers.set("content-type", "application/x-www-form-urlencoded");
    return r.formData();
  },
  "content-type removed, then blob() and clone()": async (r) => {
    r.headers.delete("content-type");
    const copy = r.clone();
    return [[...copy.headers], (await r.blob()).type, await copy.text()];
  },
  "content-type removed after the body was read as a stream, then clone()": (r) => {
    void r.body;
    r.headers.delete("content-type");
    return r.clone();
  },
  "constructor name": (r) => [r.constructor.name, r.clone().constructor.name],
  "instanceof": (r) => [r instanceof NativeResponse, r instanceof Response, Object.prototype.toString.call(r)],
};

describe("CompleteBodyResponse", () => {
  for (const [made, make] of Object.entries(makes)) {
    it(`behaves as Node's Response: ${made}`, async () => {
      for (const [used, use] of Object.entries(uses)) {
        const expected = await outcome(make, use, NativeResponse);
        const actual = await outcome(make, use, CompleteBodyResponse);
        expect({ used, actual }).toEqual({ used, actual: expected });
      }
    });
  }

  it("keeps a string body as a string: taken once, then the body is used", async () => {
    const response = CompleteBodyResponse.json({ count: 3 });
    expect(takeCompleteBody(response)).toBe('{"count":3}');
    expect(response.bodyUsed).toBe(true);
    expect(takeCompleteBody(response)).toBeUndefined();
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it("gives nothing to take once the body was read, nor for other bodies and other responses", async () => {
    const read = new CompleteBodyResponse("x");
    await read.text();
    expect(takeCompleteBody(read)).toBeUndefined();
    const streamed = new CompleteBodyResponse("x");
    void streamed.body;
    expect(takeCompleteBody(streamed)).toBeUndefined();
    expect(takeCompleteBody(new CompleteBodyResponse(new Uint8Array([1])))).toBeUndefined();
    expect(takeCompleteBody(NativeResponse.json({}))).toBeUndefined();
  });

  it("is the brand Node's own machinery checks: its body handed to another Response works", async () => {
    const response = new CompleteBodyResponse("passed on", { headers: { "x-a": "1" } });
    const wrapped = new NativeResponse(response.body, response);
    expect(wrapped.headers.get("x-a")).toBe("1");
    expect(await wrapped.text()).toBe("passed on");
  });

  it("its members called on other responses (fetch's, Response.error()) act as Node's", async () => {
    const other = NativeResponse.json({ a: 1 });
    expect(await CompleteBodyResponse.prototype.text.call(other)).toBe('{"a":1}');
    expect(CompleteBodyResponse.prototype.clone.call(NativeResponse.error()).type).toBe("error");
    const bodyOf = Object.getOwnPropertyDescriptor(CompleteBodyResponse.prototype, "body")!.get!;
    expect(bodyOf.call(new NativeResponse(null))).toBeNull();
    expect(Object.getOwnPropertyDescriptor(CompleteBodyResponse.prototype, "bodyUsed")!.get!.call(other)).toBe(true);
    // Called on no response at all: a rejected promise (or a throw) exactly where Node's member gives one.
    for (const member of ["text", "json", "arrayBuffer", "blob", "clone"] as const) {
      for (const self of [undefined, null, 1, "x"]) {
        const outcome = (R: typeof Response) => {
          try {
            const result: unknown = (R.prototype[member] as () => unknown).call(self);
            if (result instanceof Promise) result.catch(() => {});
            return result instanceof Promise ? "promise" : "value";
          } catch {
            return "throw";
          }
        };
        expect(`${member} on ${String(self)}: ${outcome(CompleteBodyResponse)}`).toBe(`${member} on ${String(self)}: ${outcome(NativeResponse)}`);
      }
    }
  });

  it("a subclass's members are its own: its fields exist when they run, and the server reads a body it overrides through it", async () => {
    class Guarded extends CompleteBodyResponse {
      readonly #seen = 1;
      override get headers(): Headers {
        void this.#seen; // throws if called before the subclass's fields exist
        return super.headers;
      }
    }
    expect(new Guarded("hi").headers.get("content-type")).toBe("text/plain;charset=UTF-8");
    class Shouting extends CompleteBodyResponse {
      override text(): Promise<string> {
        return super.text().then((text) => text.toUpperCase());
      }
    }
    const shouting = new Shouting("quiet");
    expect(takeCompleteBody(shouting)).toBeUndefined();
    expect(await shouting.text()).toBe("QUIET");
    expect(takeCompleteBody(new Guarded("plain"))).toBe("plain");
  });

  it("Response.json checks its arguments as Node's does", () => {
    for (const args of [[{}, 5], [{}, "x"], [undefined], [{}, { status: 99 }]] as const) {
      const call = (R: typeof Response) => () => (R.json as (...a: unknown[]) => Response)(...args);
      let nativeError: unknown;
      try {
        call(NativeResponse)();
      } catch (error) {
        nativeError = error;
      }
      expect(() => call(CompleteBodyResponse)()).toThrow((nativeError as Error).constructor as ErrorConstructor);
    }
    expect(CompleteBodyResponse.json.length).toBe(NativeResponse.json.length);
  });
});

describe("withCors", () => {
  it("hands a string body on as the string, with the CORS headers added; any other body as its stream", async () => {
    const Global = globalThis.Response;
    globalThis.Response = CompleteBodyResponse;
    try {
      const copy = withCors(CompleteBodyResponse.json({ a: 1 }, { status: 201 }), { "access-control-allow-origin": "*" });
      expect(copy.status).toBe(201);
      expect(copy.headers.get("content-type")).toBe("application/json");
      expect(copy.headers.get("access-control-allow-origin")).toBe("*");
      expect(takeCompleteBody(copy)).toBe('{"a":1}');
      const streamed = withCors(new NativeResponse(new Uint8Array([104, 105])), { "x-cors": "1" });
      expect(takeCompleteBody(streamed)).toBeUndefined();
      expect(await streamed.text()).toBe("hi");
      // A content-type the handler removed stays removed: the copy's constructor must not add its own.
      const untyped = new CompleteBodyResponse("plain");
      untyped.headers.delete("content-type");
      const copied = withCors(untyped, { "access-control-allow-origin": "*" });
      expect(copied.headers.get("content-type")).toBeNull();
      expect(takeCompleteBody(copied)).toBe("plain");
    } finally {
      globalThis.Response = Global;
    }
  });
});

describe("writeResponse with a complete body", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  async function serveOne(make: () => Response): Promise<string> {
    server = createServer((_incoming, outgoing) => void writeResponse(make(), outgoing));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it("sends it in one piece with the byte length of its UTF-8, and keeps the response's own headers", async () => {
    const text = "naïve ✓ 🙂";
    const url = await serveOne(() => new CompleteBodyResponse(text, { status: 202, headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]] }));
    const res = await fetch(url);
    expect(res.status).toBe(202);
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(res.headers.get("content-type")).toBe("text/plain;charset=UTF-8");
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await res.text()).toBe(text);
  });

  it("answers HEAD with the headers only, and a body read before writing is still sent", async () => {
    const url = await serveOne(() => {
      const response = CompleteBodyResponse.json({ big: "x".repeat(70_000) });
      void response.body; // read as a stream before the server writes it
      return response;
    });
    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const res = await fetch(url);
    expect(((await res.json()) as { big: string }).big.length).toBe(70_000);
  });
});
