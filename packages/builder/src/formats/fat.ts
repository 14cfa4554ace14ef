// FAT filesystems made without mounting anything: mkfs.vfat writes the filesystem into a file (or at a
// partition's offset inside a disk image) and mtools copies files in. Serial and label come from the
// caller; dates from SOURCE_DATE_EPOCH, which mtools honours.

import type { RunTool } from "./run-tool.js";

export const FAT_TOOLS = ["mkfs.vfat", "mmd", "mcopy"];

export interface FatSpec {
  image: string;
  /** Make a new image file (`-C`) rather than write into an existing disk image at `offsetSectors`. */
  create: boolean;
  offsetSectors?: number;
  /** Size of the filesystem in 512-byte sectors (even). */
  sectors: number;
  /** Let mkfs.vfat choose when absent. */
  fatBits?: 12 | 16 | 32;
  /** 8 hex digits. */
  volumeId: string;
  label: string;
  /** Directories to create, parents first, e.g. `/EFI`, `/EFI/BOOT`. */
  dirs: string[];
  /** Staged files copied into each directory, keeping their names; one mcopy per directory. */
  copies: { dir: string; files: string[] }[];
}

export async function makeFat(run: RunTool, spec: FatSpec): Promise<void> {
  const mkfs = ["--invariant", "-i", spec.volumeId, "-n", spec.label];
  if (spec.create) mkfs.unshift("-C");
  if (spec.fatBits) mkfs.push("-F", String(spec.fatBits));
  if (spec.offsetSectors) mkfs.push("--offset", String(spec.offsetSectors));
  await run("mkfs.vfat", [...mkfs, spec.image, String(spec.sectors / 2)]);
  const target = mtoolsImage(spec.image, spec.offsetSectors);
  if (spec.dirs.length > 0) await run("mmd", ["-i", target, ...spec.dirs.map((d) => `::${d}`)]);
  for (const { dir, files } of spec.copies) {
    // Without -m the copies get "now", which is SOURCE_DATE_EPOCH.
    await run("mcopy", ["-i", target, ...files, `::${dir.endsWith("/") ? dir : `${dir}/`}`]);
  }
}

/** The mtools drive spec for a filesystem at a byte offset inside an image. */
export function mtoolsImage(image: string, offsetSectors: number | undefined): string {
  return offsetSectors ? `${image}@@${offsetSectors * 512}` : image;
}
