/**
 * JavaScript evaluated in every sandbox before user code: console, TextEncoder/TextDecoder, URL,
 * URLSearchParams, Headers, Request, Response, fetch, the `env` object, and the dispatcher the host
 * calls (`__hearth_dispatch`). It only uses the two bridge functions, which it removes from the global
 * object; everything crossing them is a string (JSON; bytes as base64). Engine-independent.
 */
import { SEARCH_GUARDS } from "./search-prelude.ts";

export const PRELUDE = String.raw`(function (sync, async_) {
"use strict";
const G = globalThis;
delete G.__hearth_sync; delete G.__hearth_async;
// Everything that builds or reads what crosses to the host is taken now, before the code runs: the
// code may replace JSON, String or any method later, and must not be able to shape the envelope.
const stringify = JSON.stringify, parse = JSON.parse, json = Object.freeze({ __proto__: null, stringify, parse });
const sliceString = String.prototype.slice, applyFn = Reflect.apply;
const cfg = parse(sync("config", "{}"));
const define = (name, value) => Object.defineProperty(G, name, { value, writable: true, configurable: true, enumerable: false });
// ---- memory: buffers are allocated outside the engine's own count, and builtins that copy or grow
// them run no bytecode the interrupt could stop at, so every MiB they make asks the engine to measure
// the heap against memoryBytes (it throws once the limit is passed); an allocation whose size is
// known beforehand (a buffer of n bytes, a string repeated n times) is checked before it is made, so
// one that would cross the limit never happens. What the checks use is taken now: the code may
// replace any global, method or getter later. (The engine also measures at host calls, interrupts
// and the end of each call, whatever ran.) ----
{
  const apply = Reflect.apply, defineProperty = Object.defineProperty, isArray = Array.isArray, evaluate = eval;
  const kit = { __proto__: null, apply, construct: Reflect.construct, defineProperty, describe: Object.getOwnPropertyDescriptor, protoOf: Object.getPrototypeOf, Proxy, G };
  let made = 0;
  // A size the code made up (NaN, say, from a length it controls) must not stop the count for good.
  const measure = kit.measure = (bytes) => { if (bytes > 0) made += bytes; if (made >= 1048576) { made = 0; sync("memory", "0"); } };
  const ahead = kit.ahead = (bytes) => { if (bytes >= 65536) sync("memory", "" + bytes); };
  // A size: 0, an array's (8 bytes a value in this 32-bit build); 1, a string's (a byte a character,
  // at least); else read with a getter taken at start (0 for another kind of value).
  const sizeOf = kit.sizeOf = (get, value) => {
    if (get === 0) return isArray(value) ? value.length * 8 : 0;
    if (get === 1) return typeof value === "string" ? value.length : 0;
    try { return apply(get, value, []); } catch { return 0; }
  };
  // A length converted here, once, and handed on as a number: an object's valueOf could tell the engine another.
  const length = kit.length = (args) => { if (args[0] === undefined) return 0; const n = +args[0]; args[0] = n; return n > 0 ? n : 0; };
  // Builtins that allocate in one step: measured after (a method that returns nothing: its receiver);
  // checked before where the size is known (plan 1: a new length, less the current one; 2: a repeat count).
  kit.wrap = (owner, names, size, plan) => {
    for (let i = 0; i < names.length; i++) {
      const name = names[i], original = owner[name];
      if (typeof original !== "function") continue;
      defineProperty(owner, name, { __proto__: null, value: { [name](...args) {
        if (plan === 1) ahead(length(args) - sizeOf(size, this));
        else if (plan === 2) ahead(typeof this === "string" ? this.length * length(args) : 0);
        const value = apply(original, this, args);
        measure(sizeOf(size, value === undefined ? this : value));
        return value;
      } }[name], writable: true, configurable: true, enumerable: false });
    }
  };
  kit.wrap(Array, ["from"], 0);
  // fill writes the elements of its range (a new Array(n)'s holes become values): charged for that
  // range, not for the whole array at every call (an in-place fill of one element is 8 bytes).
  {
    const fill = Array.prototype.fill, trunc = Math.trunc, min = Math.min, max = Math.max;
    const at = (value, len, fallback) => { if (value === undefined) return fallback; const n = trunc(+value) || 0; return n < 0 ? max(len + n, 0) : min(n, len); };
    defineProperty(Array.prototype, "fill", { __proto__: null, value: { fill(...args) {
      const len = isArray(this) ? this.length : 0;
      const from = at(args[1], len, 0), to = at(args[2], len, len);
      if (args.length > 1) args[1] = from;
      if (args.length > 2) args[2] = to;
      const value = apply(fill, this, args);
      measure((to - from) * 8);
      return value;
    } }.fill, writable: true, configurable: true, enumerable: false });
  }
${SEARCH_GUARDS}
  kit.wrap(String.prototype, ["padStart", "padEnd"], 1, 1);
  kit.wrap(String.prototype, ["repeat"], 1, 2);
  kit.wrap(String.prototype, ["concat", "replaceAll"], 1);
  kit.wrap(Array.prototype, ["join"], 1);
  // Buffers and typed arrays are wrapped when the code first names one of their constructors (no
  // other way leads to one), by code compiled then (buffer-prelude.ts), with what was taken here.
  const lazy = kit.lazy = { __proto__: null };
  let installed = false;
  for (const name of ["ArrayBuffer", "SharedArrayBuffer", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"]) {
    if (typeof G[name] !== "function") continue;
    lazy[name] = [G[name], function get() {
      if (!installed) {
        const install = evaluate(sync("buffers", ""));
        installed = true;
        install(kit);
      }
      return G[name];
    }];
    defineProperty(G, name, { configurable: true, enumerable: false, get: lazy[name][1], set(value) { defineProperty(G, name, { __proto__: null, value, writable: true, configurable: true, enumerable: false }); } });
  }
}

function tooBig(n) { return new RangeError("host call message of " + n + " bytes exceeds " + cfg.maxHostCallBytes + " bytes (maxHostCallBytes)"); }
// ---- console ----
function show(v, depth) {
  if (typeof v === "string") return depth ? stringify(v) : v;
  if (v === undefined) return "undefined";
  if (typeof v === "function") return "[Function " + (v.name || "anonymous") + "]";
  if (typeof v === "bigint") return v + "n";
  if (typeof v === "symbol") return v.toString();
  if (v instanceof Error) return (v.stack && !depth) ? v.name + ": " + v.message + "\n" + v.stack : v.name + ": " + v.message;
  if (v === null || typeof v !== "object") return String(v);
  try { const s = stringify(v); return s === undefined ? String(v) : s; } catch (e) { return "[" + (v.constructor && v.constructor.name || "Object") + "]"; }
}
let outputLeft = cfg.maxOutputBytes;
const console_ = {};
for (const level of ["log", "info", "warn", "error", "debug"]) {
  console_[level] = (...args) => {
    if (outputLeft <= 0) return;
    // Built with +=: always a string, whatever the code did to Array or String.
    let message = "";
    for (let i = 0; i < args.length; i++) message += (i === 0 ? "" : " ") + show(args[i], false);
    if (message.length > outputLeft) message = applyFn(sliceString, message, [0, outputLeft + 1]);
    const left = sync("log", stringify({ level, message }));
    outputLeft = +left;
  };
}
console_.trace = console_.debug;
define("console", console_);

// ---- web globals, compiled on first use (most code-mode snippets never touch them) ----
const evalIndirect = eval;
const WEB_NAMES = ["TextEncoder", "TextDecoder", "btoa", "atob", "URL", "URLSearchParams", "Headers", "Request", "Response", "fetch"];
let web = null;
function loadWeb() {
  if (web === null) web = evalIndirect(sync("web", ""))(sync, async_, cfg, define, show, tooBig, json);
  return web;
}
for (const name of WEB_NAMES) {
  Object.defineProperty(G, name, {
    configurable: true,
    enumerable: false,
    get() { loadWeb(); return G[name]; },
    set(value) { Object.defineProperty(G, name, { value, writable: true, configurable: true, enumerable: false }); },
  });
}

// ---- env ----
function build(shape) {
  if (shape.t === "v") return shape.v;
  if (shape.t === "f") {
    const id = shape.id;
    return async function (...args) {
      let payload;
      try { payload = stringify(args); } catch (e) { throw new TypeError("arguments of a host call must be JSON: " + e.message); }
      if (payload.length > cfg.maxHostCallBytes) throw tooBig(payload.length);
      const answer = await async_("call", stringify({ id, args: payload }));
      return answer === "" ? undefined : parse(answer);
    };
  }
  const o = {};
  for (const k of Object.keys(shape.p)) o[k] = build(shape.p[k]);
  return o;
}
const env = build(cfg.env);
define("env", env);
for (const k of Object.keys(env)) if (!(k in G)) define(k, env[k]);

// ---- what "cloudflare:workers" exports (the module re-exports these) ----
class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
class RpcTarget {}
Object.defineProperty(G, "__hearth_workers", { value: Object.freeze({ DurableObject, WorkerEntrypoint, RpcTarget }), writable: false, configurable: false, enumerable: false });

// ---- the extension (more code for one kind of guest), given the bridges ----
const extension = cfg.extension ? evalIndirect(sync("extension", ""))({ sync, async_, cfg, define, show, tooBig, loadWeb, env, json, main: () => main }) : null;
const extensionPrefix = cfg.extension ? cfg.extension + "." : null;

// ---- dispatcher ----
let main = null;
function errorOf(e) {
  // Never throws: a throw here would reject the dispatch with a value the host must read outside
  // the meter (a hostile getter, toJSON or name).
  try {
    if (e instanceof Error) return { name: "" + e.name, message: "" + e.message };
    return { name: "Error", message: show(e, true) };
  } catch {
    return { name: "Error", message: "an error whose name or message could not be read" };
  }
}
function encode(value) {
  if (value === undefined) return '{"ok":true}';
  const text = stringify(value);
  if (text === undefined) return '{"ok":true}';
  return '{"ok":true,"value":' + text + "}";
}
async function dispatch(op, payload) {
  try {
    const p = parse(payload);
    if (extension && op.startsWith(extensionPrefix)) return encode(await extension.dispatch(op.slice(extensionPrefix.length), p));
    if (op === "run") {
      const fn = (0, eval)("(" + p.source + "\n)");
      if (typeof fn !== "function") throw new TypeError("the code must be a function expression, e.g. async () => { ... }");
      return encode(await fn());
    }
    if (!main) throw new Error("no module is loaded");
    if (op === "call") {
      let fn = main[p.name];
      let self = main;
      if (typeof fn !== "function" && main.default && typeof main.default === "object" && p.name !== "then") { self = main.default; fn = self[p.name]; }
      if (typeof fn !== "function") throw new TypeError("the main module exports no function named " + stringify(p.name));
      return encode(await fn.apply(self, p.args));
    }
    if (op === "fetch") {
      const handler = main.default && typeof main.default.fetch === "function" ? main.default : null;
      if (!handler) throw new TypeError("the main module has no default export with a fetch() method");
      const res = await handler.fetch(loadWeb().fromWireRequest(p), env, { waitUntil() {}, passThroughOnException() {} });
      return '{"ok":true,"value":' + stringify(loadWeb().wireResponse(res)) + "}";
    }
    throw new Error("unknown operation " + op);
  } catch (e) {
    return stringify({ ok: false, error: errorOf(e) });
  }
}
Object.defineProperty(G, "__hearth_dispatch", { value: dispatch, writable: false, configurable: false, enumerable: false });
// The host calls back in through this while the code waits on a sync host call (a transaction around a callback).
const nested = (op, payload) => { if (!extension) throw new Error("no extension"); return extension.nested(String(op), String(payload)); };
Object.defineProperty(G, "__hearth_nested", { value: nested, writable: false, configurable: false, enumerable: false });
Object.defineProperty(G, "__hearth_main", { value: (ns) => { if (main) throw new Error("main already set"); main = ns; }, writable: false, configurable: false, enumerable: false });
})(globalThis.__hearth_sync, globalThis.__hearth_async);`;

/**
 * The web-shaped globals (bytes and text, URL, Headers, Request, Response, fetch), evaluated inside a
 * sandbox only when its code first touches one of them: compiling them costs more than the rest of a
 * sandbox's start.
 */
export const WEB_PRELUDE = String.raw`(function (sync, async_, cfg, define, show, tooBig, json) {
"use strict";
const G = globalThis;
// ---- bytes, base64, text ----
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function toBase64(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i], b = bytes[i + 1], c = bytes[i + 2];
    out += B64[a >> 2] + B64[((a & 3) << 4) | ((b ?? 0) >> 4)] + (b === undefined ? "=" : B64[((b & 15) << 2) | ((c ?? 0) >> 6)]) + (c === undefined ? "=" : B64[c & 63]);
  }
  return out;
}
const B64I = {}; for (let i = 0; i < 64; i++) B64I[B64[i]] = i;
function fromBase64(s) {
  s = s.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor(s.length * 3 / 4));
  let j = 0;
  for (let i = 0; i < s.length; i += 4) {
    const n = (B64I[s[i]] << 18) | (B64I[s[i + 1]] << 12) | ((B64I[s[i + 2]] ?? 0) << 6) | (B64I[s[i + 3]] ?? 0);
    out[j++] = n >> 16; if (i + 2 < s.length) out[j++] = (n >> 8) & 255; if (i + 3 < s.length) out[j++] = n & 255;
  }
  return out;
}
function utf8Encode(str) {
  str = String(str);
  const out = [];
  for (let i = 0; i < str.length; i++) {
    let c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) { const d = str.charCodeAt(i + 1); if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; } else c = 0xfffd; }
    else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}
function utf8Decode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const a = bytes[i++];
    let c;
    if (a < 0x80) c = a;
    else if (a >= 0xc2 && a < 0xe0 && (bytes[i] & 0xc0) === 0x80) c = ((a & 31) << 6) | (bytes[i++] & 63);
    else if (a >= 0xe0 && a < 0xf0 && (bytes[i] & 0xc0) === 0x80 && (bytes[i + 1] & 0xc0) === 0x80) { c = ((a & 15) << 12) | ((bytes[i] & 63) << 6) | (bytes[i + 1] & 63); i += 2; if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd; }
    else if (a >= 0xf0 && a < 0xf5 && (bytes[i] & 0xc0) === 0x80 && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) { c = ((a & 7) << 18) | ((bytes[i] & 63) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63); i += 3; if (c < 0x10000 || c > 0x10ffff) c = 0xfffd; }
    else c = 0xfffd;
    out += String.fromCodePoint(c);
  }
  return out;
}
function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("expected an ArrayBuffer or a view of one");
}
class TextEncoder { get encoding() { return "utf-8"; } encode(s = "") { return utf8Encode(s); } }
class TextDecoder {
  constructor(label = "utf-8") { label = String(label).toLowerCase(); if (label !== "utf-8" && label !== "utf8") throw new RangeError("only utf-8 is supported"); }
  get encoding() { return "utf-8"; }
  decode(data) { if (data === undefined) return ""; let s = utf8Decode(toBytes(data)); if (s.charCodeAt(0) === 0xfeff) s = s.slice(1); return s; }
}
define("TextEncoder", TextEncoder); define("TextDecoder", TextDecoder);
define("btoa", (s) => { s = String(s); const b = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); if (c > 255) throw new Error("btoa: character out of range"); b[i] = c; } return toBase64(b); });
define("atob", (s) => { const b = fromBase64(String(s).replace(/\s+/g, "")); let o = ""; for (let i = 0; i < b.length; i++) o += String.fromCharCode(b[i]); return o; });

// ---- URL ----
const URL_PARTS = ["href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"];
const urlState = new WeakMap();
function parseURL(input, base) {
  const r = json.parse(sync("url", json.stringify({ input: String(input), base: base === undefined ? undefined : String(base) })));
  if (r.error) throw new TypeError(r.error);
  return r;
}
class URLSearchParams {
  constructor(init = "") {
    this._list = [];
    if (init instanceof URLSearchParams) this._list = init._list.map((p) => p.slice());
    else if (typeof init === "object" && init !== null) {
      if (typeof init[Symbol.iterator] === "function") for (const [k, v] of init) this._list.push([String(k), String(v)]);
      else for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
    } else this._parse(String(init));
  }
  _parse(s) {
    this._list = [];
    if (s.startsWith("?")) s = s.slice(1);
    for (const part of s.split("&")) {
      if (!part) continue;
      const i = part.indexOf("=");
      const dec = (x) => { try { return decodeURIComponent(x.replace(/\+/g, " ")); } catch (e) { return x; } };
      this._list.push(i < 0 ? [dec(part), ""] : [dec(part.slice(0, i)), dec(part.slice(i + 1))]);
    }
  }
  _update() { if (this._url) { const s = this.toString(); this._url.search = s ? "?" + s : ""; } }
  get size() { return this._list.length; }
  append(k, v) { this._list.push([String(k), String(v)]); this._update(); }
  delete(k) { k = String(k); this._list = this._list.filter((p) => p[0] !== k); this._update(); }
  get(k) { k = String(k); const p = this._list.find((q) => q[0] === k); return p ? p[1] : null; }
  getAll(k) { k = String(k); return this._list.filter((p) => p[0] === k).map((p) => p[1]); }
  has(k) { k = String(k); return this._list.some((p) => p[0] === k); }
  set(k, v) { k = String(k); const i = this._list.findIndex((p) => p[0] === k); if (i < 0) this._list.push([k, String(v)]); else { this._list[i][1] = String(v); this._list = this._list.filter((p, j) => j <= i || p[0] !== k); } this._update(); }
  sort() { this._list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this._update(); }
  forEach(fn, self) { for (const [k, v] of this._list) fn.call(self, v, k, this); }
  keys() { return this._list.map((p) => p[0])[Symbol.iterator](); }
  values() { return this._list.map((p) => p[1])[Symbol.iterator](); }
  entries() { return this._list.map((p) => [p[0], p[1]])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  toString() {
    const enc = (x) => encodeURIComponent(x).replace(/%20/g, "+").replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
    return this._list.map((p) => enc(p[0]) + "=" + enc(p[1])).join("&");
  }
}
class URL {
  constructor(input, base) { urlState.set(this, parseURL(input, base)); }
  static canParse(input, base) { try { parseURL(input, base); return true; } catch (e) { return false; } }
  static parse(input, base) { try { return new URL(input, base); } catch (e) { return null; } }
  get searchParams() {
    const st = urlState.get(this);
    if (!st.params) { st.params = new URLSearchParams(st.search); st.params._url = this; }
    return st.params;
  }
  toString() { return this.href; }
  toJSON() { return this.href; }
}
for (const part of URL_PARTS) {
  Object.defineProperty(URL.prototype, part, {
    get() { return urlState.get(this)[part]; },
    set(value) {
      if (part === "origin") return;
      const st = urlState.get(this);
      const next = json.parse(sync("url", json.stringify({ input: st.href, set: part, value: String(value) })));
      if (next.error) { if (part === "href") throw new TypeError(next.error); return; }
      const params = st.params;
      urlState.set(this, next);
      if (params && part !== "search") { next.params = params; params._list = new URLSearchParams(next.search)._list; }
      else if (params) { next.params = params; params._list = new URLSearchParams(next.search)._list; }
    },
    enumerable: true, configurable: true,
  });
}
define("URL", URL); define("URLSearchParams", URLSearchParams);

// ---- Headers, Request, Response ----
function normName(n) { n = String(n).toLowerCase(); if (!/^[!#$%&'*+.^_|~0-9a-z-]+$/.test(n)) throw new TypeError("invalid header name: " + n); return n; }
class Headers {
  constructor(init) {
    this._map = new Map();
    if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else if (init && typeof init === "object") for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  append(k, v) { k = normName(k); v = String(v).trim(); const cur = this._map.get(k); this._map.set(k, cur === undefined ? v : cur + ", " + v); }
  set(k, v) { this._map.set(normName(k), String(v).trim()); }
  get(k) { const v = this._map.get(normName(k)); return v === undefined ? null : v; }
  has(k) { return this._map.has(normName(k)); }
  delete(k) { this._map.delete(normName(k)); }
  forEach(fn, self) { for (const [k, v] of this.entries()) fn.call(self, v, k, this); }
  *entries() { yield* [...this._map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)); }
  *keys() { for (const [k] of this.entries()) yield k; }
  *values() { for (const [, v] of this.entries()) yield v; }
  [Symbol.iterator]() { return this.entries(); }
}
function bodyBytes(body) {
  if (body === null || body === undefined) return null;
  if (typeof body === "string" && body.length > cfg.maxHostCallBytes) throw tooBig(body.length);
  if (typeof body === "string") return utf8Encode(body);
  if (body instanceof URLSearchParams) return utf8Encode(body.toString());
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return toBytes(body).slice();
  return utf8Encode(String(body));
}
class Body {
  _initBody(body, headers) {
    this._bytes = bodyBytes(body);
    this._used = false;
    if (this._bytes && !headers.has("content-type")) {
      if (typeof body === "string") headers.set("content-type", "text/plain;charset=UTF-8");
      else if (body instanceof URLSearchParams) headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
    }
  }
  get body() { return this._bytes; }
  get bodyUsed() { return this._used; }
  _take() { if (this._used) throw new TypeError("body already used"); this._used = true; return this._bytes || new Uint8Array(0); }
  async arrayBuffer() { const b = this._take(); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); }
  async bytes() { return this._take().slice(); }
  async text() { return utf8Decode(this._take()); }
  async json() { return JSON.parse(await this.text()); }
}
const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
class Request extends Body {
  constructor(input, init = {}) {
    super();
    const from = input instanceof Request ? input : null;
    this.url = from ? from.url : new URL(String(input)).href;
    let method = init.method !== undefined ? String(init.method) : from ? from.method : "GET";
    if (METHODS.includes(method.toUpperCase())) method = method.toUpperCase();
    if (!/^[!#$%&'*+.^_|~0-9A-Za-z-]+$/.test(method)) throw new TypeError("invalid method: " + method);
    this.method = method;
    this.headers = new Headers(init.headers !== undefined ? init.headers : from ? from.headers : undefined);
    this.redirect = init.redirect || (from ? from.redirect : "follow");
    this.signal = init.signal || null;
    const body = init.body !== undefined ? init.body : from && !from.bodyUsed ? from._bytes : null;
    if (body !== null && body !== undefined && (method === "GET" || method === "HEAD")) throw new TypeError("a GET or HEAD request cannot have a body");
    this._initBody(body, this.headers);
  }
  clone() { if (this._used) throw new TypeError("body already used"); return new Request(this, {}); }
}
class Response extends Body {
  constructor(body = null, init = {}) {
    super();
    this.status = init.status === undefined ? 200 : Number(init.status);
    if (!(this.status >= 200 && this.status <= 599) || !Number.isInteger(this.status)) throw new RangeError("invalid status: " + init.status);
    this.statusText = init.statusText === undefined ? "" : String(init.statusText);
    this.headers = new Headers(init.headers);
    this.type = "default";
    this.url = init.url || "";
    this.redirected = false;
    this._initBody(body, this.headers);
  }
  get ok() { return this.status >= 200 && this.status < 300; }
  clone() { if (this._used) throw new TypeError("body already used"); return new Response(this._bytes, this); }
  static json(data, init = {}) { const headers = new Headers(init.headers); if (!headers.has("content-type")) headers.set("content-type", "application/json"); return new Response(JSON.stringify(data), { ...init, headers }); }
  static redirect(url, status = 302) { return new Response(null, { status, headers: { location: new URL(url).href } }); }
  static error() { const r = new Response(null, { status: 200 }); r.status = 0; r.type = "error"; return r; }
}
define("Headers", Headers); define("Request", Request); define("Response", Response);

function wireRequest(req) {
  return { method: req.method, url: req.url, headers: [...req.headers], body: req._bytes ? toBase64(req._bytes) : null };
}
function fromWireRequest(w) {
  return new Request(w.url, { method: w.method, headers: w.headers, body: w.body === null ? null : fromBase64(w.body) });
}
function wireResponse(res) {
  if (!(res instanceof Response)) throw new TypeError("fetch handler must return a Response");
  return { status: res.status, statusText: res.statusText, headers: [...res.headers], body: res._bytes ? toBase64(res._bytes) : null };
}
function fromWireResponse(w, url) {
  const r = new Response(w.body === null ? null : fromBase64(w.body), { status: w.status, statusText: w.statusText, headers: w.headers, url });
  return r;
}
async function fetch(input, init) {
  const req = new Request(input, init);
  const answer = await async_("fetch", json.stringify(wireRequest(req)));
  return fromWireResponse(json.parse(answer), req.url);
}
define("fetch", fetch);

return { fromWireRequest, wireResponse, toBase64, fromBase64 };
})`;

/** The "cloudflare:workers" module inside a sandbox: the prelude's base classes, and the worker's env. */
export const CLOUDFLARE_WORKERS_MODULE = `const w = globalThis.__hearth_workers;
export const DurableObject = w.DurableObject;
export const WorkerEntrypoint = w.WorkerEntrypoint;
export const RpcTarget = w.RpcTarget;
export const env = globalThis.env;
export default { DurableObject: w.DurableObject, WorkerEntrypoint: w.WorkerEntrypoint, RpcTarget: w.RpcTarget, env: globalThis.env };
`;
