import { describe, expect, it } from "vitest";
import { createLogger, isSecretKey, MAX_PATH_SEGMENTS, parseRedactPath, type RedactOptions } from "../../../src/observability/logs/index.ts";
import { collector } from "./collect.ts";

function logOnce(redact: RedactOptions | readonly string[] | undefined, obj: object, msg?: string) {
  const out = collector();
  createLogger({ destination: out, base: null, redact }).info(obj, msg);
  const { level: _level, time: _time, ...rest } = out.at(0);
  return rest;
}

describe("redaction by path (pino's syntax)", () => {
  it("redacts a.b, a[*].b, *.password, quoted keys and a.* without touching the input", () => {
    const input = {
      req: { headers: { "x-trace": "keep", "x-custom-key": "hide" }, url: "/a" },
      users: [{ id: 1, ssn: "111" }, { id: 2, ssn: "222" }],
      db: { pass: "p1", host: "h" },
      env: { A: "1", B: "2" },
      card: { number: "4111", kind: "visa" },
    };
    const copy = structuredClone(input);
    const out = logOnce(
      { paths: ['req.headers["x-custom-key"]', "users[*].ssn", "*.pass", "env.*", "card.number"], defaults: false },
      input,
    );
    expect(out).toEqual({
      req: { headers: { "x-trace": "keep", "x-custom-key": "[Redacted]" }, url: "/a" },
      users: [{ id: 1, ssn: "[Redacted]" }, { id: 2, ssn: "[Redacted]" }],
      db: { pass: "[Redacted]", host: "h" },
      env: { A: "[Redacted]", B: "[Redacted]" },
      card: { number: "[Redacted]", kind: "visa" },
    });
    expect(input).toEqual(copy);
  });

  it("takes a plain array of paths, a custom censor, and indexes", () => {
    expect(logOnce(["list[1]"], { list: ["a", "b"] })).toEqual({ list: ["a", "[Redacted]"] });
    expect(logOnce({ paths: ["a.b"], censor: "***" }, { a: { b: 1 } })).toEqual({ a: { b: "***" } });
  });

  it("leaves a path that does not exist alone (no key is added)", () => {
    expect(logOnce(["a.b.c"], { a: { x: 1 } })).toEqual({ a: { x: 1 } });
  });

  it("refuses a bad path, naming it and the limit", () => {
    expect(() => parseRedactPath("a..b")).toThrow('Invalid redact path "a..b": empty key');
    expect(() => parseRedactPath("a[")).toThrow('Invalid redact path "a[": unclosed [');
    expect(() => parseRedactPath("a[b]")).toThrow('Invalid redact path "a[b]": use [*], [0] or ["key"], not [b]');
    expect(() => parseRedactPath("a[0]b")).toThrow('Invalid redact path "a[0]b": "." or "[" expected at 4');
    expect(() => parseRedactPath("")).toThrow('Invalid redact path "": empty key');
    const long = Array.from({ length: MAX_PATH_SEGMENTS + 1 }, () => "k").join(".");
    expect(() => parseRedactPath(long)).toThrow(`more than ${MAX_PATH_SEGMENTS} segments`);
    expect(() => createLogger({ redact: ["ok", "x."] })).toThrow('Invalid redact path "x.": empty key');
  });
});

describe("redaction by default", () => {
  it("redacts well-known secret keys at any depth, in objects and arrays", () => {
    const out = logOnce(undefined, {
      headers: { Authorization: "Bearer abc", cookie: "s=1", "set-cookie": ["a"], "x-api-key": "k", accept: "*/*" },
      login: [{ user: "ada", password: "pw" }],
      config: { apiKey: "k", openai_api_key: "k", clientSecret: "s", refresh_token: "t", maxTokens: 100, tokenCount: 3 },
    });
    expect(out).toEqual({
      headers: { Authorization: "[Redacted]", cookie: "[Redacted]", "set-cookie": "[Redacted]", "x-api-key": "[Redacted]", accept: "*/*" },
      login: [{ user: "ada", password: "[Redacted]" }],
      config: { apiKey: "[Redacted]", openai_api_key: "[Redacted]", clientSecret: "[Redacted]", refresh_token: "[Redacted]", maxTokens: 100, tokenCount: 3 },
    });
    for (const key of ["authorization", "cookie", "password", "token", "apiKey", "secret", "private_key", "credentials"]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ["user", "maxTokens", "tokens", "secretary", "keyboard"]) expect(isSecretKey(key), key).toBe(false);
  });

  it("redacts credential-shaped values inside strings, also in msg", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl";
    const out = logOnce(undefined, { note: `sent Bearer abc.def to x`, keys: ["sk-ant-0123456789abcdefXYZ", "ghp_0123456789abcdefghijABCD"], jwt }, `using sk-proj0123456789abcdef now`);
    expect(out).toEqual({
      note: "sent [Redacted] to x",
      keys: ["[Redacted]", "[Redacted]"],
      jwt: "[Redacted]",
      msg: "using [Redacted] now",
    });
  });

  it("redacts objects filled into the message by %j, %o and %O", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null, redact: ["user.ssn"] });
    log.info("login %j", { user: "ada", password: "hunter2", apiKey: "abcd1234" });
    log.info({ n: 1 }, "obj %o and %O", { token: "tok-secret-123" }, { user: { ssn: "111", name: "ada" } });
    const loop: Record<string, unknown> = { id: 1, secret: "s3cr3t-value" };
    loop.self = loop;
    log.info("cycle %j", loop);
    expect(out.records().map((r) => r.msg)).toEqual([
      'login {"user":"ada","password":"[Redacted]","apiKey":"[Redacted]"}',
      'obj {"token":"[Redacted]"} and {"user":{"ssn":"[Redacted]","name":"ada"}}',
      'cycle {"id":1,"secret":"[Redacted]","self":"[Circular]"}',
    ]);
  });

  it("redacts a bearer token whatever the scheme's case, and GitHub's fine-grained tokens", () => {
    const pat = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVW";
    const out = logOnce(undefined, { header: "authorization: bearer abcdefghijklmnop", shout: "BEARER abcdefgh12", pat }, `token ${pat} used`);
    expect(out).toEqual({ header: "authorization: [Redacted]", shout: "[Redacted]", pat: "[Redacted]", msg: "token [Redacted] used" });
    // Prose keeps its words: spelt otherwise than "Bearer", the scheme needs a token-length word after it.
    expect(logOnce(undefined, { note: "the bearer of bad news" })).toEqual({ note: "the bearer of bad news" });
  });

  it("scrubs the exact values of known secrets wherever they appear", () => {
    const out = logOnce({ secrets: ["hunter2-db-pass", "abc"] }, { dsn: "postgres://u:hunter2-db-pass@db/x", short: "abc" }, "pw hunter2-db-pass");
    // Values shorter than 4 characters are not scrubbed (they would eat ordinary text).
    expect(out).toEqual({ dsn: "postgres://u:[Redacted]@db/x", short: "abc", msg: "pw [Redacted]" });
  });

  it("can be turned off", () => {
    expect(logOnce({ defaults: false }, { password: "pw", note: "Bearer abc" })).toEqual({ password: "pw", note: "Bearer abc" });
  });

  it("leaves errors as they are except their secrets", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    const error = Object.assign(new Error("login failed for ada"), { status: 401, token: "t0k3n", request: { authorization: "Basic xyz" } });
    log.error(error);
    const err = out.at(0).err;
    expect(err).toEqual({
      type: "Error",
      message: "login failed for ada",
      stack: error.stack,
      status: 401,
      token: "[Redacted]",
      request: { authorization: "[Redacted]" },
    });
    expect(error.token).toBe("t0k3n");
  });

  it("applies paths under err to an error logged on its own as to one given as { err }", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null, redact: ["err.config.data", "err.headers.*"] });
    const error = Object.assign(new Error("request failed"), { config: { data: "card=4111111111111111", url: "/pay" }, headers: { a: "1" } });
    log.error(error);
    log.error({ err: error }, "with obj");
    for (const record of out.records()) {
      expect(record.err).toMatchObject({ message: "request failed", config: { data: "[Redacted]", url: "/pay" }, headers: { a: "[Redacted]" } });
    }
    expect(error.config.data).toBe("card=4111111111111111");
  });

  it("redacts child bindings and the base too", () => {
    const out = collector();
    createLogger({ destination: out, base: { service: "api", apiKey: "k" } })
      .child({ user: { password: "pw", id: 1 } })
      .info("x");
    expect(out.at(0)).toMatchObject({ service: "api", apiKey: "[Redacted]", user: { password: "[Redacted]", id: 1 } });
  });
});

describe("redaction by default: more secret keys and credential shapes", () => {
  it("redacts keys ending in a secret, private, signing, access or encryption key, in any case and spelling", () => {
    for (const key of ["secretKey", "SECRET_KEY", "secret-key", "AWS_SECRET_ACCESS_KEY", "awsAccessKey", "signingKey", "WEBHOOK_SIGNING_KEY", "encryption_key", "jwtPrivateKey"]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ["publicKey", "keyId", "AWS_ACCESS_KEY_ID", "primaryKey", "monkey", "sortKey"]) expect(isSecretKey(key), key).toBe(false);
    const out = logOnce(undefined, {
      config: { secretKey: "s3cr3t-value-1", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SECRET_KEY: "django-insecure-abc", signingKey: "k-123456", region: "eu-west-1" },
    });
    expect(out).toEqual({
      config: { secretKey: "[Redacted]", AWS_SECRET_ACCESS_KEY: "[Redacted]", SECRET_KEY: "[Redacted]", signingKey: "[Redacted]", region: "eu-west-1" },
    });
  });

  it("redacts Stripe keys, Slack tokens and HTTP Basic credentials inside strings", () => {
    const out = logOnce(
      undefined,
      {
        stripe: ["sk_live_51Habcdefghijklmnopqrstuv", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "rk_live_51Habcdefghijklmn", "whsec_abcdefghijklmnopqrstuvwx"],
        slack: ["xoxb-123456789012-abcdefghijkl", "xoxp-1234-5678-abcdef", "xapp-1-A0123-456-abcdef"],
        header: "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        lower: "authorization: basic dXNlcjpwYXNz",
      },
      "sent with sk_live_51Habcdefghijklmnopqrstuv",
    );
    expect(out).toEqual({
      stripe: ["[Redacted]", "[Redacted]", "[Redacted]", "[Redacted]"],
      slack: ["[Redacted]", "[Redacted]", "[Redacted]"],
      header: "Authorization: [Redacted]",
      lower: "authorization: [Redacted]",
      msg: "sent with [Redacted]",
    });
    // Prose and Stripe's publishable keys stay: "Basic" before a word that is not base64 of user:password.
    const prose = { note: "Basic information about the Basic plan", pk: "pk_live_51Habcdefghijklmnopqrstuv" };
    expect(logOnce(undefined, prose)).toEqual(prose);
  });

  it("censors only the password of a URL with credentials, in fields and in the message", () => {
    const out = logOnce(
      undefined,
      {
        DATABASE_URL: "postgres://app:hunter2@db:5432/app",
        redis: "redis://:s3cret@cache:6379/0",
        mongo: "mongodb+srv://u:p@ss@cluster0.example.net/db?retryWrites=true",
        plain: ["https://example.com:8443/path", "https://user@example.com/x", "https://example.com/a:b@c"],
      },
      "connecting to postgres://app:hunter2@db:5432/app",
    );
    expect(out).toEqual({
      DATABASE_URL: "postgres://app:[Redacted]@db:5432/app",
      redis: "redis://:[Redacted]@cache:6379/0",
      mongo: "mongodb+srv://u:[Redacted]@cluster0.example.net/db?retryWrites=true",
      plain: ["https://example.com:8443/path", "https://user@example.com/x", "https://example.com/a:b@c"],
      msg: "connecting to postgres://app:[Redacted]@db:5432/app",
    });
  });
});
