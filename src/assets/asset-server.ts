import { realpathSync, statSync, type Stats } from "node:fs";
import type { HtmlHandling, NotFoundHandling } from "../config/types.ts";
import { ifRangeHolds, rangeAnswer, type ByteRange } from "./byte-ranges.ts";
import { ETagCache, ifNoneMatchHits } from "./etag.ts";
import { FileBodies } from "./file-bodies.ts";
import type { HeaderRules } from "./headers-file.ts";
import { resolveIntent } from "./html-handling.ts";
import { ASSET_CACHE_CONTROL, SMALL_FILE_CACHE_BYTES, STREAM_ABOVE_BYTES } from "./limits.ts";
import type { AssetFile, AssetManifest } from "./manifest.ts";
import { multipartRanges } from "./multipart-ranges.ts";
import { decodePathname, encodePathname, isHostilePath } from "./paths.ts";
import type { RedirectRules } from "./redirects-file.ts";
import { SmallFileCache } from "./small-files.ts";

/** What the assets make of a request, before anything is read from disk. */
type Outcome =
  | { kind: "redirect"; status: number; location: string }
  | { kind: "asset"; file: AssetFile; status: 200 | 404 }
  | { kind: "method-not-allowed" }
  /** A `_redirects` rewrite to a path with no asset: the assets answer 404 themselves. */
  | { kind: "not-found" }
  /** Nothing here: the worker's turn when there is one, else a bare 404. */
  | { kind: "no-asset" };

export interface AssetServerOptions {
  manifest: AssetManifest;
  htmlHandling: HtmlHandling;
  notFoundHandling: NotFoundHandling;
  redirects?: RedirectRules;
  headers?: HeaderRules;
}

/**
 * Answers requests from an assets directory as Cloudflare's asset worker does: `_redirects`
 * first, then `html_handling` (307 to canonical paths), `not_found_handling`, 405 for methods
 * other than GET and HEAD on an asset, strong ETags with 304, `_headers` on every response; and
 * `Range` requests (206, 416) as Cloudflare's edge answers them for a whole file it holds.
 * @example
 * const server = new AssetServer({ manifest: scanAssets(dir), htmlHandling: "auto-trailing-slash", notFoundHandling: "none" });
 * const response = await server.fetch(new Request("http://localhost/"));
 */
export class AssetServer {
  readonly #options: AssetServerOptions;
  readonly #etags = new ETagCache();
  readonly #smallFiles = new SmallFileCache(SMALL_FILE_CACHE_BYTES);
  readonly #bodies = new FileBodies();

  constructor(options: AssetServerOptions) {
    this.#options = options;
  }

  /**
   * True when the assets answer `request` themselves (an asset, a redirect, a 405, a rewrite's
   * 404), with misses handled by `notFoundHandling` instead of the configured handling.
   */
  claims(request: Request, notFoundHandling: NotFoundHandling): boolean {
    return this.#outcome(new URL(request.url), request.method, notFoundHandling).kind !== "no-asset";
  }

  /** The assets' response to `request`; a request nothing answers gets an empty 404. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const outcome = this.#outcome(url, request.method, this.#options.notFoundHandling);
    const response = await this.#render(outcome, request);
    this.#options.headers?.apply(url, response.headers);
    return response;
  }

  /** Files being streamed now. */
  get openFiles(): number {
    return this.#bodies.openCount;
  }

  /** Closes the files of responses still being streamed. */
  close(): void {
    this.#bodies.close();
  }

  #outcome(url: URL, method: string, notFoundHandling: NotFoundHandling): Outcome {
    let pathname = url.pathname;
    let rewritten = false;
    const rule = this.#options.redirects?.match(url);
    if (rule !== undefined && "location" in rule) return { kind: "redirect", status: rule.status, location: rule.location };
    if (rule !== undefined) {
      pathname = rule.rewriteTo;
      rewritten = true;
    }
    const decoded = decodePathname(pathname);
    const { manifest, htmlHandling } = this.#options;
    const intent = isHostilePath(decoded) ? undefined : resolveIntent(decoded, htmlHandling, notFoundHandling, (path) => manifest.get(path));
    if (intent === undefined) return { kind: rewritten ? "not-found" : "no-asset" };
    const upper = method.toUpperCase();
    if (upper !== "GET" && upper !== "HEAD") return { kind: "method-not-allowed" };
    // One redirect covers both the handling's canonical path and the canonical spelling of it.
    const destination = encodePathname("redirectTo" in intent ? intent.redirectTo : decoded);
    if ("redirectTo" in intent || destination !== pathname) return { kind: "redirect", status: 307, location: destination + url.search };
    return { kind: "asset", file: intent.file, status: intent.status };
  }

  async #render(outcome: Outcome, request: Request): Promise<Response> {
    switch (outcome.kind) {
      case "redirect":
        return new Response(null, { status: outcome.status, headers: { Location: outcome.location } });
      case "method-not-allowed":
        return new Response(null, { status: 405, statusText: "Method Not Allowed", headers: { Allow: "GET, HEAD" } });
      case "not-found":
      case "no-asset":
        return notFound();
      case "asset":
        return this.#serve(outcome.file, outcome.status, request);
    }
  }

  async #serve(file: AssetFile, status: 200 | 404, request: Request): Promise<Response> {
    // A synchronous stat: a few microseconds, where the thread pool's round trip costs tens.
    let version: Stats;
    try {
      // A path that leads elsewhere now (replaced by a symlink since the scan, or one of its
      // directories) may leave the assets directory: the scan's check holds only for what it saw.
      if (realpathSync.native(file.filePath) !== file.filePath) return notFound();
      version = statSync(file.filePath);
    } catch {
      return notFound(); // removed since the scan
    }
    const small = version.size <= STREAM_ABOVE_BYTES ? this.#smallFiles.read(file.filePath, version) : undefined;
    const etag = small?.etag ?? (await this.#etags.ofFile(file.filePath, version));
    const headers = new Headers({ ETag: etag, "Content-Type": file.contentType });
    // Cloudflare leaves a personalised (Authorization) or partial (Range) answer uncached.
    if (!request.headers.has("Authorization") && !request.headers.has("Range")) headers.set("Cache-Control", ASSET_CACHE_CONTROL);
    if (ifNoneMatchHits(request.headers.get("If-None-Match"), etag)) {
      return new Response(null, { status: 304, statusText: "Not Modified", headers });
    }
    const size = small?.bytes.byteLength ?? version.size;
    const head = request.method.toUpperCase() === "HEAD";
    // Ranges apply to a file served as itself (200), not to a 404 page.
    const rangeHeader = status === 200 && ifRangeHolds(request.headers.get("If-Range"), etag) ? request.headers.get("Range") : null;
    const ranges = rangeAnswer(rangeHeader, size);
    const bytesOf = (range: ByteRange): Uint8Array | ReadableStream<Uint8Array> =>
      small?.bytes.subarray(range.start, range.end + 1) ?? this.#bodies.open(file.filePath, range.end - range.start + 1, range.start);
    switch (ranges.kind) {
      case "unsatisfiable":
        headers.delete("Content-Type");
        headers.set("Content-Range", `bytes */${size}`);
        return new Response(null, { status: 416, statusText: "Range Not Satisfiable", headers });
      case "partial": {
        const [only] = ranges.ranges;
        if (ranges.ranges.length === 1 && only !== undefined) {
          headers.set("Content-Range", `bytes ${only.start}-${only.end}/${size}`);
          headers.set("Content-Length", String(only.end - only.start + 1));
          return new Response(head ? null : (bytesOf(only) as BodyInit), { status: 206, statusText: "Partial Content", headers });
        }
        const multipart = multipartRanges(ranges.ranges, size, file.contentType, bytesOf);
        headers.set("Content-Type", multipart.contentType);
        headers.set("Content-Length", String(multipart.length));
        return new Response(head ? null : multipart.body, { status: 206, statusText: "Partial Content", headers });
      }
      case "whole": {
        headers.set("Content-Length", String(size));
        const statusText = status === 404 ? "Not Found" : "OK";
        const body = head ? null : (small?.bytes ?? this.#bodies.open(file.filePath, size));
        return new Response(body as BodyInit | null, { status, statusText, headers });
      }
    }
  }
}

function notFound(): Response {
  return new Response(null, { status: 404, statusText: "Not Found" });
}
