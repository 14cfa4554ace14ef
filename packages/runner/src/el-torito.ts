import { readBytes } from "./read-bytes.js";

const SECTOR = 2048;
const PLATFORM_X86 = 0x00;
const PLATFORM_EFI = 0xef;

export interface IsoBoot {
  /** The boot catalog has a bootable BIOS (x86) entry. */
  bios: boolean;
  /** The boot catalog has a bootable EFI entry. */
  efi: boolean;
}

/**
 * Read an ISO9660 image's El Torito boot catalog: which firmware can boot it. Undefined when the file
 * is not an ISO or has no boot record.
 */
export async function readIsoBoot(path: string): Promise<IsoBoot | undefined> {
  let catalogSector: number | undefined;
  // Volume descriptors start at sector 16 and end with a type-255 terminator.
  for (let sector = 16; sector < 64 && catalogSector === undefined; sector++) {
    const vd = await readBytes(path, sector * SECTOR, SECTOR);
    if (vd.length < SECTOR || vd.toString("latin1", 1, 6) !== "CD001") return undefined;
    const type = vd[0];
    if (type === 255) break;
    if (type === 0 && vd.toString("latin1", 7, 30) === "EL TORITO SPECIFICATION") {
      catalogSector = vd.readUInt32LE(0x47);
    }
  }
  if (catalogSector === undefined) return undefined;
  const cat = await readBytes(path, catalogSector * SECTOR, SECTOR);
  // The validation entry: header 1, platform, ..., key bytes 0x55 0xAA.
  if (cat.length < 64 || cat[0] !== 1 || cat[30] !== 0x55 || cat[31] !== 0xaa) return undefined;
  const result: IsoBoot = { bios: false, efi: false };
  const mark = (platform: number, bootable: boolean) => {
    if (!bootable) return;
    if (platform === PLATFORM_X86) result.bios = true;
    if (platform === PLATFORM_EFI) result.efi = true;
  };
  mark(cat[1]!, cat[32] === 0x88); // the default entry follows, under the validation entry's platform
  for (let off = 64; off + 32 <= cat.length; ) {
    const header = cat[off]!;
    if (header !== 0x90 && header !== 0x91) break;
    const platform = cat[off + 1]!;
    const count = cat.readUInt16LE(off + 2);
    off += 32;
    for (let i = 0; i < count && off + 32 <= cat.length; off += 32) {
      if (cat[off] === 0x44) continue; // an extension of the previous entry
      mark(platform, cat[off] === 0x88);
      i++;
    }
    if (header === 0x91) break;
  }
  return result;
}
