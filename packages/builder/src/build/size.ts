import { UsageError } from "@kiln/spec";

/**
 * `--size` in bytes. LinuxKit's rules: `NM` is mebibytes, `NG` gibibytes, and a bare number is gibibytes
 * (so `--size 4096` is 4 TiB, as in LinuxKit; write `4096M`).
 */
export function parseSize(text: string): number {
  const m = /^(\d+)([MG]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--size "${text}" is not a size`, "write it like 1024M or 4G");
  const n = Number(m[1]);
  const mib = m[2] === "M" ? n : n * 1024;
  if (mib <= 0) throw new UsageError(`--size "${text}" must be more than zero`, "write it like 1024M or 4G");
  return mib * 1024 * 1024;
}

export const DEFAULT_SIZE = 1024 * 1024 * 1024;
