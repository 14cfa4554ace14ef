// Runs the two builders the oracle and the benchmarks compare: LinuxKit v1.8.2 (built by bench/linuxkit-peer.sh)
// and kiln (its built CLI), on the same YAML, each with its own image cache, from the same registry.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OracleCase } from "./oracle-corpus.js";
import { REPO_ROOT, testCacheDir } from "./paths.js";

export const KILN_BIN = fileURLToPath(new URL("../../cli/dist/main.js", import.meta.url));
export const PEER_SCRIPT = join(REPO_ROOT, "bench", "linuxkit-peer.sh");
/** bench/linuxkit-peer.sh's exit code when this machine has no LinuxKit source. */
export const NO_SOURCE_EXIT = 3;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident set size in KiB, when run under /usr/bin/time. */
  maxRssKiB?: number;
  /** User plus system CPU seconds, when run under /usr/bin/time. */
  cpuSecs?: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Measure peak RSS and CPU time with GNU time (`/usr/bin/time -f "%M %U %S"`). */
  measure?: boolean;
}

const TIME = "/usr/bin/time";
const RSS_MARK = "oracle-max-rss-kib:";

/** Run a command to its end; never throws for a non-zero exit (see `code`). */
export async function run(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const measured = o.measure === true && existsSync(TIME);
  const [file, argv] = measured ? [TIME, ["-f", `${RSS_MARK}%M %U %S`, cmd, ...args]] : [cmd, [...args]];
  const child = spawn(file, argv, {
    cwd: o.cwd ?? REPO_ROOT,
    env: o.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGTERM"), o.timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  const result: RunResult = { code, stdout, stderr, ms: Date.now() - started };
  if (measured) {
    const i = stderr.lastIndexOf(RSS_MARK);
    if (i !== -1) {
      const fields = stderr
        .slice(i + RSS_MARK.length)
        .trim()
        .split("\n")[0]!
        .split(" ")
        .map(Number);
      result.maxRssKiB = fields[0]!;
      result.cpuSecs = fields[1]! + fields[2]!;
      result.stderr = stderr.slice(0, i);
    }
  }
  return result;
}

function failure(what: string, r: RunResult): Error {
  const tail = (r.stderr || r.stdout).trimEnd().split("\n").slice(-30).join("\n");
  return new Error(`${what} exited ${r.code ?? "on a signal"} after ${r.ms} ms:\n${tail}`);
}

export type PeerStatus = { available: true; binary: string } | { available: false; reason: string };

/**
 * The LinuxKit binary, built by bench/linuxkit-peer.sh when it is not built yet (minutes, once per cache).
 * When the machine has no LinuxKit source, says why instead, so a test can skip with that reason.
 */
export async function linuxkitPeer(): Promise<PeerStatus> {
  const r = await run("bash", [PEER_SCRIPT], {
    env: { ...process.env, KILN_TEST_CACHE: testCacheDir() },
    timeoutMs: 30 * 60_000,
  });
  if (r.code === 0) return { available: true, binary: r.stdout.trim().split("\n").pop()! };
  if (r.code === NO_SOURCE_EXIT) {
    return { available: false, reason: r.stderr.replace(/^linuxkit-peer: /gm, "").trim() };
  }
  throw failure("bench/linuxkit-peer.sh", r);
}

export interface BuildRequest {
  /** A directory for the YAML, its side files and the outputs. */
  dir: string;
  case: OracleCase;
  /** `tar` writes `-o DIR/out.tar`; other formats write into DIR with `--name NAME`. */
  formats: readonly string[];
  /** Default `out`. */
  name?: string;
  cache: string;
  /** The loopback registry (`HOST:PORT`) the YAML's images live in. */
  registry: string;
  extraArgs?: readonly string[];
  measure?: boolean;
  timeoutMs?: number;
}

/** Write the case's YAML and side files into `dir`; returns the YAML's path. */
export async function writeCase(dir: string, c: OracleCase): Promise<string> {
  await mkdir(dir, { recursive: true });
  const yaml = join(dir, "appliance.yml");
  await writeFile(yaml, c.yaml);
  for (const [name, body] of Object.entries(c.files ?? {})) await writeFile(join(dir, name), body);
  return yaml;
}

function outputArgs(r: BuildRequest, oFlag: string): string[] {
  if (r.formats.length === 1 && r.formats[0] === "tar") return [oFlag, join(r.dir, "out.tar")];
  return ["--dir", r.dir, "--name", r.name ?? "out", "-f", r.formats.join(",")];
}

/**
 * `linuxkit build`. v1.8.2 drops the registry from every reference it pulls unless a mirror names it
 * (upstream issue 4175, fixed after 1.8.2), so the loopback registry is given as its own mirror.
 */
export async function buildWithLinuxkit(binary: string, r: BuildRequest): Promise<RunResult> {
  const yaml = await writeCase(r.dir, r.case);
  const format = r.formats.length === 1 && r.formats[0] === "tar" ? ["-f", "tar"] : [];
  const args = [
    "build",
    "--mirror",
    `${r.registry}=http://${r.registry}`,
    "--cache",
    r.cache,
    ...format,
    ...outputArgs(r, "--o"),
    ...(r.extraArgs ?? []),
    yaml,
  ];
  const res = await run(binary, args, {
    cwd: r.dir,
    timeoutMs: r.timeoutMs ?? 20 * 60_000,
    ...(r.measure ? { measure: true } : {}),
  });
  if (res.code !== 0) throw failure(`linuxkit ${args.join(" ")}`, res);
  return res;
}

/** `kiln build`, the built CLI, as a user runs it. */
export async function buildWithKiln(r: BuildRequest): Promise<RunResult> {
  const yaml = await writeCase(r.dir, r.case);
  const format = r.formats.length === 1 && r.formats[0] === "tar" ? ["-f", "tar"] : [];
  const args = [
    KILN_BIN,
    "build",
    "--quiet",
    "--cache",
    r.cache,
    ...format,
    ...outputArgs(r, "-o"),
    ...(r.extraArgs ?? []),
    yaml,
  ];
  const res = await run(process.execPath, args, {
    cwd: r.dir,
    timeoutMs: r.timeoutMs ?? 20 * 60_000,
    ...(r.measure ? { measure: true } : {}),
  });
  if (res.code !== 0) throw failure(`kiln ${args.slice(1).join(" ")}`, res);
  return res;
}
