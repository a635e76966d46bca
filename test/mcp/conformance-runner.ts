/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, every server scenario)
 * against an MCP endpoint and compares the outcome with a baseline of known failures.
 *
 * A scenario passes when none of its checks is a FAILURE or a WARNING — the rule the CLI applies to
 * `--expected-failures`. The CLI runs as a child process in a temporary directory and writes its
 * per-scenario results (checks.json) there, never into the repository.
 */
import { spawn } from "node:child_process";
import { expect } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CLI = createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/dist/index.js");

export interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  description?: string;
  errorMessage?: string;
}

export interface ConformanceReport {
  /** Every server scenario the installed suite has. */
  scenarios: string[];
  passed: string[];
  /** Failing scenarios, each with its failing checks in one line. */
  failures: Map<string, string>;
  /** Baseline entries, each with its reason. */
  baseline: Map<string, string>;
  /** Failing scenarios the baseline does not list. */
  unexpected: string[];
  /** Baseline entries whose scenario now passes. */
  stale: string[];
  /** Baseline entries that name no scenario. */
  unknown: string[];
  /** The CLI's own verdict with `--expected-failures`: 0 when it agrees nothing is unexpected or stale. */
  exitCode: number | null;
  output: string;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Reads a baseline in the CLI's `--expected-failures` format (`server:` then `  - <scenario>`), where
 * each entry's reason is a comment on its line. An entry without a reason is an error.
 */
export function readBaseline(path: string): Map<string, string> {
  const entries = new Map<string, string>();
  let section: string | undefined;
  for (const [index, raw] of readFileSync(path, "utf8").split("\n").entries()) {
    const line = raw.trimEnd();
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const heading = /^(\w+):\s*(?:\[\s*\])?\s*(?:#.*)?$/.exec(line);
    if (heading) {
      section = heading[1];
      continue;
    }
    const entry = /^\s+-\s+([\w./-]+)\s*(?:#\s*(.*))?$/.exec(line);
    if (!entry || section === undefined) throw new Error(`${path}:${index + 1}: cannot read "${line}"`);
    if (section !== "server") continue;
    const reason = entry[2]?.trim();
    if (!reason) throw new Error(`${path}:${index + 1}: ${entry[1]} has no reason (a "# …" comment on its line)`);
    entries.set(entry[1]!, reason);
  }
  return entries;
}

/** checks.json of each scenario, from the CLI's `server-<scenario>-<timestamp>` result directories. */
function readResults(dir: string): Map<string, Check[]> {
  const results = new Map<string, Check[]>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return results;
  }
  for (const name of names) {
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/.exec(name);
    if (match) results.set(match[1]!, JSON.parse(readFileSync(join(dir, name, "checks.json"), "utf8")) as Check[]);
  }
  return results;
}

/** Runs every server scenario (`--suite all`) against `url` and compares with the baseline at `baselinePath`. */
export async function runConformance(url: string, baselinePath: string, timeoutMs = 150_000): Promise<ConformanceReport> {
  const work = mkdtempSync(join(tmpdir(), "hearth-mcp-conformance-"));
  try {
    const baseline = readBaseline(baselinePath);
    const listed = await cli(["list", "--server"], work, 30_000);
    const scenarios = [...listed.stdout.matchAll(/^\s+- (\S+)/gm)].map((match) => match[1]!);
    if (scenarios.length === 0) throw new Error(`The conformance CLI listed no server scenarios:\n${listed.stdout}${listed.stderr}`);

    const resultsDir = join(work, "results");
    const run = await cli(
      ["server", "--url", url, "--suite", "all", "--output-dir", resultsDir, "--expected-failures", baselinePath],
      work,
      timeoutMs,
    );
    const results = readResults(resultsDir);

    const passed: string[] = [];
    const failures = new Map<string, string>();
    for (const scenario of scenarios) {
      const checks = results.get(scenario);
      if (!checks) {
        failures.set(scenario, "no results: the scenario did not finish");
        continue;
      }
      const failing = checks.filter((check) => check.status === "FAILURE" || check.status === "WARNING");
      if (failing.length === 0) passed.push(scenario);
      else failures.set(scenario, failing.map((check) => `${check.status} ${check.id}: ${check.errorMessage ?? check.description ?? ""}`).join("; "));
    }

    return {
      scenarios,
      passed,
      failures,
      baseline,
      unexpected: [...failures.keys()].filter((scenario) => !baseline.has(scenario)),
      stale: [...baseline.keys()].filter((scenario) => passed.includes(scenario)),
      unknown: [...baseline.keys()].filter((scenario) => !scenarios.includes(scenario)),
      exitCode: run.code,
      output: `${run.stdout}\n${run.stderr}`,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The one-line summary, then each expected failure with its reason and each unexpected one with its checks. */
export function describeReport(label: string, report: ConformanceReport): string {
  const lines = [`${label}: ${report.passed.length}/${report.scenarios.length} scenarios passed`];
  for (const [scenario, reason] of report.baseline) if (report.failures.has(scenario)) lines.push(`  expected failure ${scenario}: ${reason}`);
  for (const scenario of report.unexpected) lines.push(`  UNEXPECTED failure ${scenario}: ${report.failures.get(scenario)}`);
  for (const scenario of report.stale) lines.push(`  STALE baseline entry ${scenario}: it passes now, remove it`);
  for (const scenario of report.unknown) lines.push(`  UNKNOWN baseline entry ${scenario}: no such scenario`);
  return lines.join("\n");
}

/**
 * Prints the summary and asserts the run matches its baseline exactly: no unexpected failure, no stale
 * or unknown entry, and the CLI's own --expected-failures verdict agrees.
 */
export function expectBaseline(label: string, report: ConformanceReport): void {
  const summary = describeReport(label, report);
  console.log(summary);
  expect({ unexpected: report.unexpected, stale: report.stale, unknown: report.unknown }, summary).toEqual({
    unexpected: [],
    stale: [],
    unknown: [],
  });
  expect(report.exitCode, report.output.slice(-4000)).toBe(0);
}
