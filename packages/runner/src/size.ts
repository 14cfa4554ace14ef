import { UsageError } from "@kiln/spec/errors";

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?)?$/i;

export interface ParsedSize {
  bytes: number;
  /** Set when the text was a bare number that probably meant something else. */
  warning?: string;
}

/**
 * A disk size: a number with a unit (`4G`, `4096M`, `512MiB`, `1T`; binary units, as LinuxKit and qemu-img
 * use), or a bare number in `bareUnit`. LinuxKit's `--disk ...,size=N` reads a bare N as GiB, while the
 * 2017 `-disk-size N` flag meant MiB; `what` names the flag for messages.
 */
export function parseSize(text: string, bareUnit: "M" | "G", what: string): ParsedSize {
  const m = SIZE.exec(text.trim());
  if (!m) {
    throw new UsageError(
      `${what}: "${text}" is not a size`,
      "write it as a number with a unit, e.g. 4G or 512M",
    );
  }
  const n = Number(m[1]);
  const unit = (m[2] ?? bareUnit).toUpperCase();
  const bytes = Math.round(n * UNITS[unit]!);
  if (bytes < 2 ** 20) throw new UsageError(`${what}: ${text} is smaller than 1 MiB`, "e.g. 64M or 4G");
  if (m[2] === undefined && bareUnit === "G" && n >= 512) {
    return {
      bytes,
      warning:
        `${what}: a bare ${text} means ${text} GiB, as in LinuxKit (the 2017 -disk-size flag meant MiB); ` +
        `write ${text}M if you meant MiB`,
    };
  }
  return { bytes };
}

/** 4294967296 → "4 GiB", for messages. */
export function formatSize(bytes: number): string {
  for (const u of ["T", "G", "M", "K"] as const) {
    const v = bytes / UNITS[u]!;
    if (v >= 1) return `${Number.isInteger(v) ? v : v.toFixed(1)} ${u}iB`;
  }
  return `${bytes} B`;
}
