/**
 * JavaScript evaluated inside the sandbox of a Durable Object loaded from code (a sandbox extension,
 * see extension.ts): the object's `ctx` (id, props, storage, blockConcurrencyWhile, waitUntil) and
 * the operations the host dispatches to it (`describe`, `construct`, `fetch`, `call`, `alarm`,
 * `drain`). Storage is the host's: every storage call is a `do.<op>` bridge call with a JSON payload,
 * answered by src/sandbox/durable-object-ops.ts against the facet's own database. The code never
 * names a file or a database, so there is nothing to aim at another facet's data.
 *
 * Answers from the host are `{"v": value}`, `{"m": [[key, value], …]}` (a Map), `{}` (undefined) or
 * `{"e": {name, message}}` (an error, rethrown here with its type).
 */
export const DURABLE_OBJECT_PRELUDE = String.raw`(function (kit) {
"use strict";
const { sync, async_, cfg, show, tooBig, loadWeb, env, json } = kit;
const log = console.error;
const PREFIX = "do.";
const NO_SOCKETS = "WebSockets are not available to Durable Objects loaded from code on Hearth: answer over fetch() or RPC";
/** Methods the host calls itself, never through RPC. */
const NOT_CALLABLE = new Set(["constructor", "fetch", "alarm", "webSocketMessage", "webSocketClose", "webSocketError"]);

let instance = null;
/** blockConcurrencyWhile() callbacks of the running event: it ends when they have. */
let blocks = [];
/** waitUntil() promises not drained yet (the host asks for a "drain" after the event). */
let waits = [];
/** The host's id of the transaction() whose closure is running; direct storage calls join it. */
let openTxn = null;
/** The event openTxn belongs to: a closure an event did not wait for must not capture the next one's calls. */
let openTxnEvent = -1;
/** A transaction() was opened since the last event began: the host drops what one left open. */
let txnsOpened = false;
/** Counts events; each begins with a new number. */
let eventSeq = 0;
/** transactionSync() callbacks, by id, for the host to call back into (nested). */
const syncTxns = new Map();
let syncTxnSeq = 0;

// ---- the bridge ----
const ERRORS = { TypeError, RangeError, SyntaxError, ReferenceError };
function rebuild(e) {
  const C = ERRORS[e.name];
  const error = C ? new C(e.message) : new Error(e.message);
  if (!C && e.name) error.name = e.name;
  return error;
}
function decode(answer) {
  const a = json.parse(answer);
  if (a.e) throw rebuild(a.e);
  return a.m ? new Map(a.m) : a.v;
}
function encode(payload) {
  const s = json.stringify(payload);
  if (s.length > cfg.maxHostCallBytes) throw tooBig(s.length);
  return s;
}
const call = (op, payload) => decode(sync(PREFIX + op, encode(payload)));
const callAsync = async (op, payload) => decode(await async_(PREFIX + op, encode(payload)));

// ---- JSON values only: say where a value is not one, rather than let JSON change it ----
function jsonProblem(value, label) {
  const seen = new Set();
  function walk(v, path) {
    if (v === null || typeof v === "string" || typeof v === "boolean") return null;
    if (typeof v === "number") return Number.isFinite(v) ? null : path + " is " + v;
    if (typeof v !== "object") return path + " is " + (v === undefined ? "undefined" : "a " + typeof v);
    if (seen.has(v)) return path + " is a circular reference";
    seen.add(v);
    try {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) { const p = walk(v[i], path + "[" + i + "]"); if (p) return p; }
        return null;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return path + " is a " + ((v.constructor && v.constructor.name) || "object with a prototype");
      for (const k of Object.keys(v)) {
        if (v[k] === undefined) continue;
        const p = walk(v[k], path + "." + k);
        if (p) return p;
      }
      return null;
    } finally { seen.delete(v); }
  }
  return walk(value, label);
}
function requireJson(value, label, what) {
  const problem = jsonProblem(value, label);
  if (problem) throw new TypeError(what + ": " + problem + "; Durable Objects loaded from code take, return and store JSON values only");
}
function checkPut(first, second, what) {
  if (typeof first === "string") { if (second !== undefined) requireJson(second, "the value", what); return; }
  if (first !== null && typeof first === "object" && !Array.isArray(first)) {
    for (const k of Object.keys(first)) if (first[k] !== undefined) requireJson(first[k], "the value of " + JSON.stringify(k), what);
  }
}

// ---- SQL ----
function toBytes(v) { return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength); }
function binding(v) {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return { i: String(v) };
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { b: loadWeb().toBase64(toBytes(v)) };
  return { x: v === undefined ? "undefined" : typeof v };
}
function column(v) {
  if (v === null || typeof v !== "object") return v;
  if (typeof v.b === "string") { const bytes = loadWeb().fromBase64(v.b); return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength); }
  if (typeof v.i === "string") return BigInt(v.i);
  return v;
}
class SqlStorageCursor {
  constructor(result) {
    this._columns = result.c; this._rows = result.r; this._at = 0;
    this.rowsRead = result.rr; this.rowsWritten = result.rw;
  }
  get columnNames() { return this._columns.slice(); }
  _row() { const row = this._rows[this._at++]; return row.map(column); }
  next() {
    if (this._at >= this._rows.length) return { done: true, value: undefined };
    const row = this._row();
    const o = {};
    for (let i = 0; i < this._columns.length; i++) o[this._columns[i]] = row[i];
    return { done: false, value: o };
  }
  [Symbol.iterator]() { return this; }
  toArray() { const out = []; for (let n = this.next(); !n.done; n = this.next()) out.push(n.value); return out; }
  one() {
    const rest = this.toArray();
    if (rest.length === 0) throw new Error("Expected exactly one result from SQL query, but got no results.");
    if (rest.length > 1) throw new Error("Expected exactly one result from SQL query, but got multiple results.");
    return rest[0];
  }
  raw() {
    const cursor = this;
    const it = {
      next() { return cursor._at >= cursor._rows.length ? { done: true, value: undefined } : { done: false, value: cursor._row() }; },
      [Symbol.iterator]() { return it; },
      toArray() { const out = []; for (let n = it.next(); !n.done; n = it.next()) out.push(n.value); return out; },
    };
    return it;
  }
}
const sql = {
  exec(query, ...bindings) { return new SqlStorageCursor(call("sql", { q: String(query), b: bindings.map(binding) })); },
  get databaseSize() { return call("sql.size", {}); },
};

// ---- key-value: the synchronous ctx.storage.kv and the async API ----
const kv = {
  get(key) { return call("kv", { m: "get", a: [key] }); },
  put(key, value) { checkPut(String(key), value, "kv.put()"); return call("kv", { m: "put", a: value === undefined ? [key] : [key, value] }); },
  delete(key) { return call("kv", { m: "delete", a: [key] }); },
  list(options) { return call("kv", { m: "list", a: options === undefined ? [] : [options] }); },
};
const time = (t) => (t instanceof Date ? t.getTime() : t);
function operations(run) {
  return {
    get(keys) { return run("get", [keys]); },
    put(first, second) {
      try { checkPut(first, second, "put()"); } catch (e) { return Promise.reject(e); }
      return run("put", second === undefined ? [first] : [first, second]);
    },
    delete(keys) { return run("delete", [keys]); },
    list(options) { return run("list", options === undefined ? [] : [options]); },
    getAlarm() { return run("getAlarm", []); },
    setAlarm(scheduledTime) { return run("setAlarm", [time(scheduledTime)]); },
    deleteAlarm() { return run("deleteAlarm", []); },
    deleteAll() { return run("deleteAll", []); },
  };
}
// A call that throws before it reaches the host (a bad value) still answers with a rejected promise.
const current = () => (openTxnEvent === eventSeq ? openTxn : null);
const asyncRun = (txn) => (m, a) => { try { return callAsync("storage", { m, a, t: txn === undefined ? current() : txn }); } catch (e) { return Promise.reject(e); } };
const storage = operations(asyncRun(undefined));
storage.sql = sql;
storage.kv = kv;
storage.sync = () => callAsync("storage", { m: "sync", a: [], t: null });
storage.transaction = async function (closure) {
  if (typeof closure !== "function") throw new TypeError("transaction() takes a function: transaction(async (txn) => { … })");
  if (current() !== null) throw new Error("transaction() inside another transaction() is not supported in Durable Objects loaded from code");
  const event = eventSeq;
  txnsOpened = true;
  const id = await callAsync("txn.open", {});
  if (event !== eventSeq) {
    await callAsync("txn.close", { id, ok: false });
    throw new Error("transaction() outlived the event that started it (its writes were dropped): await it");
  }
  const txn = operations(asyncRun(id));
  txn.rollback = () => { call("txn.rollback", { id }); };
  openTxn = id;
  openTxnEvent = event;
  const done = () => { if (openTxn === id) { openTxn = null; openTxnEvent = -1; } };
  let value;
  try {
    value = await closure(txn);
  } catch (error) {
    done();
    await callAsync("txn.close", { id, ok: false });
    throw error;
  }
  done();
  await callAsync("txn.close", { id, ok: true });
  return value;
};
storage.transactionSync = function (fn) {
  if (typeof fn !== "function") throw new TypeError("transactionSync() takes a function: transactionSync(() => { … })");
  const id = ++syncTxnSeq;
  const record = { fn, value: undefined, threw: false, error: undefined };
  syncTxns.set(id, record);
  try {
    call("txn.sync", { id });
  } finally {
    syncTxns.delete(id);
  }
  if (record.threw) throw record.error;
  return record.value;
};

// ---- ctx ----
function makeCtx(p) {
  const hex = String(p.id);
  const id = Object.freeze({
    name: p.name === null ? undefined : p.name,
    toString() { return hex; },
    toJSON() { return hex; },
    equals(other) { return other !== null && other !== undefined && String(other) === hex; },
  });
  return {
    id,
    props: p.props,
    storage,
    env,
    blockConcurrencyWhile(fn) {
      const promise = (async () => fn())();
      blocks.push(promise);
      return promise;
    },
    waitUntil(promise) {
      waits.push(Promise.resolve(promise).catch((e) => log("waitUntil: " + show(e, false))));
    },
    acceptWebSocket() { throw new TypeError(NO_SOCKETS); },
    getWebSockets() { return []; },
    setWebSocketAutoResponse() { throw new TypeError(NO_SOCKETS); },
  };
}

// ---- events ----
function classOf(name) {
  const main = kit.main();
  if (!main) throw new Error("no module is loaded");
  const C = main[name];
  if (C === undefined) throw new TypeError("The worker exports no Durable Object class named " + JSON.stringify(name));
  if (typeof C !== "function" || !C.prototype) throw new TypeError("The export " + JSON.stringify(name) + " of the worker is not a class");
  return C;
}
/** The event is over when its blockConcurrencyWhile() callbacks are; its result must be JSON. */
async function finish(value, what) {
  while (blocks.length > 0) { const pending = blocks; blocks = []; await Promise.all(pending); }
  if (value !== undefined) requireJson(value, "the result", what);
  return { r: value, w: waits.length };
}
function begin() {
  blocks = [];
  eventSeq++;
  openTxn = null;
  openTxnEvent = -1;
  // Events run one at a time here: a transaction still open belongs to an earlier event that did not wait for it.
  if (txnsOpened) { txnsOpened = false; call("txn.reset", {}); }
  if (!instance) throw new Error("the Durable Object has not been constructed");
}
async function dispatch(op, p) {
  if (op === "describe") {
    const C = classOf(p.className);
    return { fetch: typeof C.prototype.fetch === "function", alarm: typeof C.prototype.alarm === "function" };
  }
  if (op === "construct") {
    const C = classOf(p.className);
    blocks = [];
    eventSeq++;
    instance = new C(makeCtx(p), env);
    return finish(undefined, "the constructor");
  }
  begin();
  if (op === "fetch") {
    const response = await instance.fetch(loadWeb().fromWireRequest(p));
    const done = await finish(undefined, "fetch()");
    return { r: loadWeb().wireResponse(response), w: done.w };
  }
  if (op === "call") {
    const m = p.m;
    const fn = typeof m === "string" && !NOT_CALLABLE.has(m) ? instance[m] : undefined;
    if (typeof fn !== "function" || fn === Object.prototype[m]) throw new TypeError("The RPC receiver does not implement the method " + JSON.stringify(m) + ".");
    return finish(await fn.apply(instance, p.a), m + "()");
  }
  if (op === "alarm") {
    await instance.alarm({ retryCount: p.retryCount, isRetry: p.isRetry });
    return finish(undefined, "alarm()");
  }
  if (op === "drain") {
    const pending = waits;
    waits = [];
    await Promise.all(pending);
    return finish(undefined, "waitUntil()");
  }
  throw new Error("unknown operation " + op);
}
/** The host's call back in, while transactionSync() waits for it: runs the callback inside the host's savepoint. */
function nested(op, payload) {
  if (op !== "txn") throw new Error("unknown nested operation " + op);
  const record = syncTxns.get(Number(payload));
  if (!record) return "missing";
  try {
    record.value = record.fn();
    return "ok";
  } catch (error) {
    record.threw = true;
    record.error = error;
    return "threw";
  }
}
return { dispatch, nested };
})`;
