// External programs of a package build (apt, dpkg-deb, go, modinfo, depmod): a missing program or a
// cancelled build becomes a clear error, anything else is the caller's to judge from the exit code.

import { access } from "node:fs/promises";
import { KilnError } from "@kiln/spec";
import type { Options, Result } from "execa";
import { loadExeca } from "../load-execa.js";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Said when the program is not installed. */
  install: string;
}

/** Programs in sbin directories that a non-root PATH often lacks. */
const SBIN = ["/usr/sbin", "/sbin", "/usr/local/go/bin"];

const found = new Map<string, Promise<string>>();

/** The program's path: on PATH, else in the usual sbin (and Go) directories, else the bare name. */
export function locate(program: string): Promise<string> {
  let p = found.get(program);
  if (!p) {
    p = (async () => {
      const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), ...SBIN];
      for (const d of dirs) {
        const candidate = `${d}/${program}`;
        if (
          await access(candidate).then(
            () => true,
            () => false,
          )
        )
          return candidate;
      }
      return program;
    })();
    found.set(program, p);
  }
  return p;
}

export async function run(program: string, args: readonly string[], o: RunOptions): Promise<Result<Options>> {
  const { execa } = await loadExeca();
  const r = (await execa(await locate(program), args, {
    reject: false,
    cwd: o.cwd,
    env: { LC_ALL: "C", ...o.env },
    cancelSignal: o.signal,
    stdin: "ignore",
  })) as Result<Options>;
  o.signal?.throwIfAborted();
  if ((r as { code?: string }).code === "ENOENT") {
    throw new KilnError(`${program} is not installed`, { hint: o.install });
  }
  return r;
}

/** The last lines of a failed program's stderr, for an error message. */
export function tail(stderr: unknown, lines = 8): string {
  return String(stderr ?? "")
    .trim()
    .split("\n")
    .slice(-lines)
    .join("\n");
}
