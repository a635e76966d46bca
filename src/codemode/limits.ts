/**
 * The limits of code mode's discovery and API sources, in one place so the docs and the errors
 * name the same values (docs/codemode.md lists them).
 */

/**
 * Auto mode keeps every declaration in the `execute` description while that text is at most this
 * many characters (about 900 tokens of TypeScript, so the whole `execute` definition stays under
 * about 1,200 tokens); a larger API switches to discovery.
 *
 * @example
 * ```ts
 * createCodeTools({ tools, discoveryThresholdChars: DISCOVERY_THRESHOLD_CHARS * 2 });
 * ```
 */
export const DISCOVERY_THRESHOLD_CHARS = 3_500;

/**
 * Most operations one code-mode API may hold, over all its sources.
 *
 * @example
 * ```ts
 * if (source.operations.length > MAX_CATALOGUE_OPERATIONS) console.warn("split the API");
 * ```
 */
export const MAX_CATALOGUE_OPERATIONS = 10_000;

/**
 * Longest description a catalogue entry carries, in characters (its first paragraph, cut).
 *
 * @example
 * ```ts
 * entry.description.length <= MAX_CATALOGUE_DESCRIPTION_CHARS; // true
 * ```
 */
export const MAX_CATALOGUE_DESCRIPTION_CHARS = 240;

/**
 * Longest parameter summary of a catalogue entry (`owner: string, repo: string, …`), in characters.
 *
 * @example
 * ```ts
 * entry.params.length <= MAX_CATALOGUE_PARAMS_CHARS; // true
 * ```
 */
export const MAX_CATALOGUE_PARAMS_CHARS = 240;

/**
 * What one console line counts against `maxLogChars` at least, however short: empty lines use up
 * the bound too (8,000 characters: 500 lines at most).
 *
 * @example
 * ```ts
 * // 10,000 empty lines under the default bound: 500 reach the model, then the truncation marker
 * MIN_LOG_LINE_CHARS; // 16
 * ```
 */
export const MIN_LOG_LINE_CHARS = 16;

/**
 * Default bound on what one `search` run returns to the model, in characters of JSON.
 *
 * @example
 * ```ts
 * createCodeTools({ source, maxSearchResultChars: DEFAULT_MAX_SEARCH_RESULT_CHARS / 2 });
 * ```
 */
export const DEFAULT_MAX_SEARCH_RESULT_CHARS = 12_000;

/**
 * Most operations one `catalogue.declarations(names)` call may ask for.
 *
 * @example
 * ```ts
 * await catalogue.declarations(names.slice(0, MAX_DECLARATION_REQUEST));
 * ```
 */
export const MAX_DECLARATION_REQUEST = 20;

/**
 * Most entries one `catalogue.find(query, limit)` call returns (and its default `limit`: 10).
 *
 * @example
 * ```ts
 * await catalogue.find("issues", MAX_FIND_RESULTS);
 * ```
 */
export const MAX_FIND_RESULTS = 50;

/**
 * Default bound on the body of one HTTP response an OpenAPI operation reads, in bytes (1 MiB).
 *
 * @example
 * ```ts
 * openApiSource(spec, { maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES * 4 });
 * ```
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;

/**
 * Most bytes of an HTTP request body an OpenAPI operation sends (1 MiB).
 *
 * @example
 * ```ts
 * JSON.stringify(input.body).length <= MAX_REQUEST_BODY_BYTES;
 * ```
 */
export const MAX_REQUEST_BODY_BYTES = 1_048_576;

/**
 * Default time an OpenAPI operation's HTTP request may take, headers and body, in milliseconds.
 *
 * @example
 * ```ts
 * openApiSource(spec, { timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS / 3 });
 * ```
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Characters of a failed response's body quoted in the error (`404 Not Found: {"message":…}`).
 *
 * @example
 * ```ts
 * // "codemode.getItem failed: GET /items/{id} answered 404 Not Found: {\"error\":\"no such item\"}"
 * ```
 */
export const MAX_ERROR_BODY_CHARS = 500;

/**
 * Default CPU budget of one `search` run, in milliseconds: the catalogue is copied into the sandbox
 * and scanned by the model's code, which costs more than the 50 ms default of a sandbox for large APIs.
 *
 * @example
 * ```ts
 * createCodeTools({ source, searchExecutor: sandboxExecutor({ cpuMs: DEFAULT_SEARCH_CPU_MS * 2 }) });
 * ```
 */
export const DEFAULT_SEARCH_CPU_MS = 500;

/**
 * How long a code tool waits, after its run ended, for tool calls the code left running (ms). A
 * call still running then is reported as such and its result is not in the output: a tool that
 * ignores its abort signal must not hold the model's turn for good.
 *
 * @example
 * ```ts
 * // a call left running longer than this shows as "[warn] codemode.send was still running … 30 s after"
 * RUN_END_WAIT_MS; // 30_000
 * ```
 */
export const RUN_END_WAIT_MS = 30_000;

/**
 * Default wall clock of one code run in the default executor (`sandboxExecutor()`), in
 * milliseconds. It includes the tool calls the code awaits, so it matches the time one OpenAPI
 * request may take (`DEFAULT_REQUEST_TIMEOUT_MS`) rather than a plain sandbox's 5 s; CPU stays bound
 * by the sandbox's own `cpuMs`.
 *
 * @example
 * ```ts
 * createCodeTool({ tools, executor: sandboxExecutor({ wallMs: DEFAULT_CODE_WALL_MS * 2 }) });
 * ```
 */
export const DEFAULT_CODE_WALL_MS = 30_000;

/**
 * Most checks one validation of a tool's input against its JSON Schema makes while trying the
 * options of `anyOf`/`oneOf`/`not` (a check: one value of the input against one schema, `$ref`s
 * included). It runs on the host's thread, so an input the schema makes costly (nested unions) is
 * refused once past it, with
 * `input: too complex to validate: more than MAX_VALIDATION_CHECKS (100000) checks against the schema`.
 * Checks outside options (plain `properties`, `items`, `allOf`) do not count against it: a large
 * input of plain values validates through, whatever its size.
 *
 * @example
 * ```ts
 * validateJsonSchema(schema, input); // at most MAX_VALIDATION_CHECKS checks inside union options
 * ```
 */
export const MAX_VALIDATION_CHECKS = 100_000;

/**
 * Most checks one validation makes in all, per value of the input (and never fewer than
 * MAX_VALIDATION_CHECKS): a plain schema checks each value against a few schemas, so only a schema
 * whose `allOf`s or overlapping `properties`/`patternProperties` multiply at every level reaches it
 * (`input: too complex to validate: more than N checks against the schema (MAX_VALIDATION_CHECKS_PER_VALUE: 64 per value of the input)`).
 *
 * @example
 * ```ts
 * // 20,000 rows of 8 values each: up to 64 × 160,001 checks
 * MAX_VALIDATION_CHECKS_PER_VALUE; // 64
 * ```
 */
export const MAX_VALIDATION_CHECKS_PER_VALUE = 64;

/**
 * Deepest nesting of a tool's input (objects and arrays) its JSON Schema is checked through; a value
 * nested deeper where the schema still describes it is refused (`input.a.b…: nested more than 64
 * levels deep`).
 *
 * @example
 * ```ts
 * // a filter of 16 nested and/or expressions ({ op, args: [...] }) is 32 levels: within it
 * MAX_VALIDATION_DEPTH; // 64
 * ```
 */
export const MAX_VALIDATION_DEPTH = 64;

/**
 * Most characters of one `catalogue.find(query)`; a longer query is refused
 * (`catalogue.find: the query is N characters, more than MAX_FIND_QUERY_CHARS (1000)`). Ranking runs
 * on the host's thread, costing each distinct word of the query a look at every operation.
 *
 * @example
 * ```ts
 * await catalogue.find("list the open issues of a repository"); // 6 words, 37 characters
 * ```
 */
export const MAX_FIND_QUERY_CHARS = 1_000;

/**
 * Most distinct words (after stop words are dropped) one `catalogue.find(query)` ranks by; a query
 * with more is refused (`catalogue.find: the query has N distinct words, more than MAX_FIND_QUERY_WORDS (32)`).
 *
 * @example
 * ```ts
 * await catalogue.find("create update delete label"); // 4 words
 * ```
 */
export const MAX_FIND_QUERY_WORDS = 32;
