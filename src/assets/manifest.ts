import { existsSync, readdirSync, readFileSync, realpathSync, statSync, type Dirent } from "node:fs";
import { join, relative, sep } from "node:path";
import { contentTypeOf } from "./content-type.ts";
import { IGNORE_FILE_NAME, IgnoreList } from "./ignore-file.ts";
import { ASSET_LIMITS, AssetsConfigError } from "./limits.ts";

/** One file the assets directory serves. */
export interface AssetFile {
  /** Its decoded URL path: "/" + the path relative to the directory, e.g. "/blog/index.html". */
  readonly pathname: string;
  /**
   * Its real path on disk when the directory was scanned (a symlink's target): a request finds the
   * file there, and refuses it if that path leads elsewhere by then (a link made since the scan).
   */
  readonly filePath: string;
  readonly contentType: string;
}

/** The limits a scan enforces. */
export interface ScanLimits {
  maxFileBytes: number;
  maxFiles: number;
}

/** The files of an assets directory, as found when it was scanned. */
export interface AssetManifest {
  /** The absolute directory. */
  readonly directory: string;
  readonly fileCount: number;
  /** What the scan left out and why (symlinks leaving the directory, …), and secrets-looking files it serves. */
  readonly warnings: readonly string[];
  /** The file served at a decoded path, if any. */
  get(pathname: string): AssetFile | undefined;
}

/**
 * Walks `directory` once and lists the files to serve, leaving out what `.assetsignore` names,
 * `_headers`, `_redirects` and `.assetsignore` itself. A symlink is followed when it points to a
 * file inside the directory; symlinked directories and links leaving the directory are skipped.
 * A directory that does not exist (yet) has no files. Throws {@link AssetsConfigError} when the
 * path is not a directory, a file is over `limits.maxFileBytes` or there are more than
 * `limits.maxFiles` files.
 * @example
 * const manifest = scanAssets("/srv/site/dist");
 * manifest.get("/index.html")?.contentType; // "text/html; charset=utf-8"
 */
export function scanAssets(directory: string, limits: ScanLimits = ASSET_LIMITS): AssetManifest {
  // Not built yet (a vite build makes it): nothing to serve, every request falls through; the config warns.
  if (!existsSync(directory)) return { directory, fileCount: 0, warnings: [], get: () => undefined };
  if (!statSync(directory).isDirectory()) throw new AssetsConfigError(`assets.directory "${directory}" is not a directory`);
  // The native realpath, as each request compares with (asset-server.ts): the two may differ in case or drive form.
  const root = realpathSync.native(directory);
  const ignoreFile = join(directory, IGNORE_FILE_NAME);
  const hasIgnoreFile = existsSync(ignoreFile);
  // A Pages-style server bundle (Astro's and SvelteKit's adapters write dist/_worker.js/): served as an
  // asset, it would publish the server's code. wrangler refuses it the same way.
  if (!hasIgnoreFile && existsSync(join(directory, WORKER_BUNDLE))) {
    throw new AssetsConfigError(
      `${join(directory, WORKER_BUNDLE)} would be served as an asset, publishing your server-side code. ` +
        `Remove it, or add an ${IGNORE_FILE_NAME} file to ${directory} containing "${WORKER_BUNDLE}" (an empty ${IGNORE_FILE_NAME} serves it on purpose).`,
    );
  }
  const ignoreList = IgnoreList.parse(hasIgnoreFile ? readFileSync(ignoreFile, "utf8") : undefined);
  const files = new Map<string, AssetFile>();
  const warnings: string[] = [];

  const add = (relativePath: string, filePath: string, size: number): void => {
    if (size > limits.maxFileBytes) {
      throw new AssetsConfigError(
        `Asset too large: "${relativePath}" is ${formatBytes(size)}; an asset may be at most ${formatBytes(limits.maxFileBytes)} ` +
          `(maxFileBytes). Remove it from ${directory} or list it in ${IGNORE_FILE_NAME}.`,
      );
    }
    if (files.size >= limits.maxFiles) {
      throw new AssetsConfigError(
        `Too many assets: ${directory} holds more than ${limits.maxFiles.toLocaleString("en-US")} files (maxFiles). ` +
          `List the files not to serve in ${IGNORE_FILE_NAME}.`,
      );
    }
    if (SECRETS_LOOKING.test(relativePath)) {
      warnings.push(`${relativePath}: served to anyone who asks; list it in ${IGNORE_FILE_NAME} if it holds secrets`);
    }
    const pathname = `/${relativePath}`;
    files.set(pathname, { pathname, filePath, contentType: contentTypeOf(pathname) });
  };

  const pending = [directory];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of readdirSync(dir, { withFileTypes: true }) as Dirent[]) {
      const absolute = join(dir, entry.name);
      const relativePath = relative(directory, absolute).split(sep).join("/");
      if (entry.isDirectory()) {
        if (!ignoreList.ignores(relativePath, true)) pending.push(absolute);
      } else if (entry.isFile()) {
        if (!ignoreList.ignores(relativePath)) add(relativePath, join(root, relative(directory, absolute)), statSync(absolute).size);
      } else if (entry.isSymbolicLink() && !ignoreList.ignores(relativePath)) {
        const target = followLink(absolute, root);
        if (typeof target === "string") warnings.push(`${relativePath}: ${target}`);
        else add(relativePath, target.path, target.size);
      }
    }
  }

  return {
    directory,
    fileCount: files.size,
    warnings,
    get: (pathname) => files.get(pathname),
  };
}

/** A Pages "advanced mode" server bundle, file or directory, at the root of the assets directory. */
const WORKER_BUNDLE = "_worker.js";

/** Files that usually hold secrets or server configuration: a sign the directory is the project's root, not its build output. */
const SECRETS_LOOKING = /(^|\/)(\.dev\.vars|\.env)(\.[^/]*)?$|^wrangler\.(jsonc?|toml)$/;

/** A symlink's target when it is a file inside `root`, else why it is skipped. */
function followLink(link: string, root: string): { path: string; size: number } | string {
  let target: string;
  try {
    target = realpathSync.native(link);
  } catch {
    return "a broken symlink, skipped";
  }
  if (target !== root && !target.startsWith(root + sep)) return "a symlink that leaves the assets directory, skipped";
  const stat = statSync(target);
  if (!stat.isFile()) return "a symlink to a directory, not followed";
  return { path: target, size: stat.size };
}

function formatBytes(bytes: number): string {
  const exact = `${bytes.toLocaleString("en-US")} bytes`;
  for (const [unit, size] of [
    ["MiB", 1024 * 1024],
    ["KiB", 1024],
  ] as const) {
    if (bytes < size) continue;
    return bytes % size === 0 ? `${bytes / size} ${unit}` : `${(bytes / size).toFixed(2)} ${unit} (${exact})`;
  }
  return exact;
}
