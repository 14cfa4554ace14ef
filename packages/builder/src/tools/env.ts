// The environment every tool runs in, natively or in the builder image. Tools that stamp dates or names
// (mtools, xorriso, syslinux) read TZ and the locale, so both modes pin them to get the same bytes.

import { KilnError } from "@kiln/spec";
import { aptPackageFor } from "./packages.js";
import type { ToolInvocation } from "./types.js";

/** Where Debian puts the programs, sbin included (mkfs.vfat and sfdisk live there). */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function toolEnv(path: string, extra: Record<string, string> | undefined): Record<string, string> {
  // HOME points nowhere so that no user rc file (~/.mtoolsrc, ~/.xorrisorc) changes the output.
  return { PATH: path, TZ: "UTC", LC_ALL: "C", HOME: "/nonexistent", ...extra };
}

/** One error for every missing tool, naming the packages to install and the container alternative. */
export function missingToolsError(missing: string[], where: string): KilnError {
  const packages = [...new Set(missing.map((t) => aptPackageFor(t) ?? t))].sort();
  const what = missing.map((t) => `${t} (Debian package ${aptPackageFor(t) ?? "unknown"})`).join(", ");
  return new KilnError(`${where} lacks ${what}`, {
    hint: `install them (apt-get install ${packages.join(" ")}) or build with --builder container to use kiln's builder image`,
  });
}

/** A tool ran and failed: the end of its stderr says why. */
export function toolFailedError(
  inv: ToolInvocation,
  exitCode: number | undefined,
  stderr: string,
): KilnError {
  const tail = stderr.trim().split("\n").slice(-6).join("\n");
  const code = exitCode === undefined ? "" : ` with exit code ${exitCode}`;
  return new KilnError(`${inv.tool} failed${code}${tail ? `:\n${tail}` : ""}`, {
    hint: "check free space in the output and temp directories; if it persists, report it with the command line",
  });
}

/** execa's output fields, typed loosely by its option overloads, as strings. */
export function text(output: unknown): string {
  return typeof output === "string" ? output : "";
}
