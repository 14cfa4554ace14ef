// Identifiers that tools would otherwise pick at random (FAT serials, MBR and GPT ids, VHD/VMDK ids),
// derived from what the image boots, so the same kernel, initrd and cmdline give the same bytes.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";

const fileHashes = new Map<string, Promise<string>>();

async function hashFile(path: string): Promise<string> {
  const s = await stat(path);
  const key = `${path}\0${s.ino}\0${s.size}\0${s.mtimeMs}`;
  let h = fileHashes.get(key);
  if (!h) {
    h = (async () => {
      const hash = createHash("sha256");
      await pipeline(createReadStream(path), hash);
      return hash.digest("hex");
    })();
    h.catch(() => fileHashes.delete(key));
    fileHashes.set(key, h);
  }
  return h;
}

export class BootIds {
  private constructor(private readonly seed: Buffer) {}

  static async of(kernel: string, initrd: string, cmdline: string): Promise<BootIds> {
    const [k, i] = await Promise.all([hashFile(kernel), hashFile(initrd)]);
    return new BootIds(createHash("sha256").update(`kiln-boot\0${k}\0${i}\0${cmdline}`).digest());
  }

  #bytes(purpose: string): Buffer {
    return createHash("sha256").update(this.seed).update(purpose).digest();
  }

  /** Names the GRUB search marker file, so GRUB finds this image's files and not another disk's. */
  get marker(): string {
    return this.#bytes("marker").toString("hex").slice(0, 16);
  }

  /** A 32-bit id as 8 hex digits (FAT volume serial, MBR disk id, VMDK CID). */
  hex32(purpose: string): string {
    return this.#bytes(purpose).toString("hex").slice(0, 8);
  }

  /** An RFC 4122 version 4 GUID string (random-looking, but fixed by the content). */
  guid(purpose: string): string {
    const b = this.#bytes(purpose).subarray(0, 16);
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    const h = b.toString("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`.toUpperCase();
  }

  /** 16 raw bytes (the VHD footer's unique id). */
  bytes16(purpose: string): Buffer {
    return this.#bytes(purpose).subarray(0, 16);
  }
}
