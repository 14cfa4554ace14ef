// Disk geometry and partition tables. One FAT partition from 1 MiB to the end of the `--size` disk (or to
// the last whole MiB before GPT's backup table), written by sfdisk into a sparse file: no loop devices.

import { open } from "node:fs/promises";
import { KilnError } from "@kiln/spec";

export const MIB = 1024 * 1024;
const SECTOR = 512;
/** 1 MiB: where every partitioning tool starts the first partition today. */
export const PART_START = 2048;
const GPT_BACKUP_SECTORS = 33;
const EFI_SYSTEM = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

export type PartitionScheme = "mbr" | "gpt";

export interface DiskPlan {
  bytes: number;
  partStart: number;
  partSectors: number;
  /** FAT32 from 512 MiB up, where FAT16 would need clusters larger than firmware likes. */
  fatBits: 16 | 32;
}

export function planDisk(format: string, size: number, payload: number, scheme: PartitionScheme): DiskPlan {
  const bytes = Math.ceil(size / MIB) * MIB;
  const sectors = bytes / SECTOR;
  const usable = scheme === "gpt" ? sectors - PART_START - GPT_BACKUP_SECTORS : sectors - PART_START;
  const partSectors = Math.floor(usable / 2048) * 2048;
  // FAT tables, root directory and cluster rounding: 2% and 2 MiB cover them at any size kiln makes.
  const needed = Math.ceil((payload * 1.02 + 2 * MIB) / MIB) * MIB;
  if (partSectors * SECTOR < needed) {
    const minimum = Math.ceil((needed + 2 * MIB) / MIB);
    throw new KilnError(
      `--size ${formatSize(size)} is too small for ${format}: the kernel and initrd need a ${minimum}M disk`,
      { hint: `use --size ${minimum}M or more` },
    );
  }
  return { bytes, partStart: PART_START, partSectors, fatBits: partSectors * SECTOR >= 512 * MIB ? 32 : 16 };
}

export function mbrScript(plan: DiskPlan, labelId: string): string {
  const type = plan.fatBits === 32 ? "c" : "e";
  return [
    "label: dos",
    `label-id: 0x${labelId}`,
    "unit: sectors",
    "",
    `start=${plan.partStart}, size=${plan.partSectors}, type=${type}, bootable`,
    "",
  ].join("\n");
}

export function gptScript(plan: DiskPlan, diskGuid: string, partGuid: string): string {
  return [
    "label: gpt",
    `label-id: ${diskGuid}`,
    "unit: sectors",
    `first-lba: ${plan.partStart}`,
    "",
    `start=${plan.partStart}, size=${plan.partSectors}, type=${EFI_SYSTEM}, uuid=${partGuid}, name="EFI System"`,
    "",
  ].join("\n");
}

/** A sparse file of `bytes`: the unwritten parts of the disk cost nothing on disk. */
export async function createSparse(path: string, bytes: number): Promise<void> {
  const fh = await open(path, "w", 0o644);
  try {
    await fh.truncate(bytes);
  } finally {
    await fh.close();
  }
}

function formatSize(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB}M` : `${bytes} bytes`;
}
