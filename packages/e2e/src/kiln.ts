import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "./paths.js";

const BIN = fileURLToPath(new URL("../../cli/dist/main.js", import.meta.url));

export interface KilnRun {
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs the built `kiln` binary as a user would, its output copied to `logFile`. Throws with the tail of its
 * output when it exits non-zero or outlives `timeoutMs`.
 */
export async function runKiln(
  args: readonly string[],
  timeoutMs: number,
  logFile?: string,
): Promise<KilnRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = logFile === undefined ? undefined : createWriteStream(logFile, { flags: "a" });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
    log?.write(c);
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
    log?.write(c);
  });
  const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c));
  }).finally(() => {
    clearTimeout(timer);
    log?.end();
  });
  const ms = Date.now() - started;
  if (code !== 0) {
    const why = code === null ? `was stopped after ${Math.round(ms / 1000)} s` : `exited with code ${code}`;
    const tail = (stderr || stdout).trimEnd().split("\n").slice(-40).join("\n");
    throw new Error(`kiln ${args.join(" ")} ${why}:\n${tail}`);
  }
  return { stdout, stderr, ms };
}
