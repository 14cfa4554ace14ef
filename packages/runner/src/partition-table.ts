import { readBytes } from "./read-bytes.js";

// The EFI system partition's GPT type GUID, C12A7328-F81F-11D2-BA4B-00A0C93EC93B, as stored on disk
// (the first three fields little-endian).
const ESP_GUID = Buffer.from("28732ac11ff8d211ba4b00a0c93ec93b", "hex");
// "Hah!IdontNeedEFI": GRUB's BIOS boot partition on GPT disks.
const BIOS_BOOT_GUID = Buffer.from("4861682149646f6e744e656564454649", "hex");

export interface DiskBoot {
  /** An EFI system partition (GPT type, or MBR type 0xEF). */
  esp: boolean;
  /** Signs that BIOS can boot it: boot code in the MBR, or a GPT BIOS boot partition. */
  biosBootable: boolean;
  table: "gpt" | "mbr" | "none";
}

/** Read the partition table at the start of a raw disk image (`read` gives bytes at an offset). */
export async function readDiskBoot(
  read: (position: number, length: number) => Promise<Buffer>,
): Promise<DiskBoot> {
  const mbr = await read(0, 512);
  const result: DiskBoot = { esp: false, biosBootable: false, table: "none" };
  if (mbr.length < 512 || mbr[510] !== 0x55 || mbr[511] !== 0xaa) return result;
  result.table = "mbr";
  result.biosBootable = mbr.subarray(0, 440).some((b) => b !== 0);
  let protective = false;
  for (let i = 0; i < 4; i++) {
    const type = mbr[446 + i * 16 + 4];
    if (type === 0xef) result.esp = true;
    if (type === 0xee) protective = true;
  }
  if (!protective) return result;
  for (const sector of [512, 4096]) {
    const header = await read(sector, 92);
    if (header.length < 92 || header.toString("latin1", 0, 8) !== "EFI PART") continue;
    result.table = "gpt";
    const entriesLba = Number(header.readBigUInt64LE(72));
    const count = Math.min(header.readUInt32LE(80), 1024);
    const size = header.readUInt32LE(84);
    if (size < 128) break;
    const entries = await read(entriesLba * sector, count * size);
    for (let off = 0; off + size <= entries.length; off += size) {
      const type = entries.subarray(off, off + 16);
      if (type.equals(ESP_GUID)) result.esp = true;
      if (type.equals(BIOS_BOOT_GUID)) result.biosBootable = true;
    }
    break;
  }
  return result;
}

/** Read the partition table of a raw image file. */
export function readRawDiskBoot(path: string): Promise<DiskBoot> {
  return readDiskBoot((position, length) => readBytes(path, position, length));
}
