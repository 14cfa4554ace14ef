import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { KilnError } from "@kiln/spec/errors";

const APT: Record<string, string> = {
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-system-aarch64": "qemu-system-arm",
  "qemu-img": "qemu-utils",
  xorriso: "xorriso",
};

/** A program's full path: as given when it has a slash, else the first match on $PATH. */
export function findTool(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = name.includes("/")
    ? [isAbsolute(name) ? name : resolve(name)]
    : (env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  const pkg = APT[name];
  throw new KilnError(`${name} not found${name.includes("/") ? "" : " on $PATH"}`, {
    hint: pkg
      ? `install it (Debian/Ubuntu: apt-get install ${pkg}; macOS: brew install qemu)`
      : `install ${name}`,
  });
}

export interface ToolOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a short-lived tool to completion. */
export function runTool(path: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ToolOutput> {
  return new Promise((res, rej) => {
    const p = spawn(path, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    p.on("error", rej);
    p.on("close", (code) => res({ code, stdout, stderr }));
  });
}
