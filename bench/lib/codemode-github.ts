/**
 * The GitHub REST API description for the code-mode benchmarks: `@octokit/openapi` fetched on demand
 * into the git-ignored bench/.data cache (the package is 385 MB unpacked, so it is not a dependency),
 * and a loopback server answering three of its operations for the round-trip task.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export const OCTOKIT_OPENAPI = "@octokit/openapi@23.0.2";
const CACHE = join(import.meta.dirname, "..", ".data", "octokit-openapi");
const SPEC = join(CACHE, "package", "generated", "api.github.com.json");

/** The parsed spec, or the reason it could not be had (the registry could not be reached, …). */
export function loadGithubSpec(): { spec: Record<string, unknown> } | { skipped: string } {
  try {
    if (!existsSync(SPEC)) {
      mkdirSync(CACHE, { recursive: true });
      if (!readdirSync(CACHE).some((f) => f.endsWith(".tgz"))) {
        execFileSync("npm", ["pack", OCTOKIT_OPENAPI, "--pack-destination", CACHE], { stdio: "pipe", timeout: 180_000 });
      }
      const tgz = readdirSync(CACHE).find((f) => f.endsWith(".tgz"));
      if (tgz === undefined) return { skipped: `npm pack ${OCTOKIT_OPENAPI} produced no tarball` };
      execFileSync("tar", ["-xzf", join(CACHE, tgz), "-C", CACHE, "package/generated/api.github.com.json"], { stdio: "pipe", timeout: 120_000 });
    }
    return { spec: JSON.parse(readFileSync(SPEC, "utf8")) as Record<string, unknown> };
  } catch (error) {
    const message = (error as { stderr?: Buffer }).stderr?.toString().trim().split("\n").at(-1) ?? (error as Error).message;
    return { skipped: `could not fetch ${OCTOKIT_OPENAPI} from the npm registry (${message})` };
  }
}

/** A loopback server answering `GET /repos/{owner}/{repo}`, its `/issues` and its `/contributors`. */
export async function startGithubServer(): Promise<{ baseUrl: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? "/", "http://x");
    const match = /^\/repos\/([^/]+)\/([^/]+)(\/issues|\/contributors)?$/.exec(url.pathname);
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (match === null) return send(404, { message: "Not Found" });
    const [, owner = "", repo = "", tail] = match;
    if (tail === undefined) return send(200, { id: 1296269, name: repo, full_name: `${owner}/${repo}`, owner: { login: owner }, open_issues_count: 2 });
    if (tail === "/issues") {
      const issues = [
        { number: 1347, title: "Found a bug", state: "open" },
        { number: 1348, title: "Docs are unclear", state: "open" },
        { number: 1200, title: "Old crash", state: "closed" },
      ];
      const state = url.searchParams.get("state") ?? "open";
      return send(200, issues.filter((i) => state === "all" || i.state === state));
    }
    return send(200, [{ login: "octocat", contributions: 32 }, { login: "hubot", contributions: 7 }]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** The round-trip task on the GitHub API: three dependent calls, combined. */
export const GITHUB_TASK = [
  "Steps:",
  '1. get a repository {"owner":"octocat","repo":"hello-world"}',
  '2. list repository issues {"owner":"$1.owner.login","repo":"$1.name","state":"open"}',
  '3. list repository contributors {"owner":"$1.owner.login","repo":"$1.name"}',
  'Answer: {"repo":"$1.full_name","openIssues":"$2.length","topContributor":"$3.0.login"}',
].join("\n");
