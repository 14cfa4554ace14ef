import { stat } from "node:fs/promises";
import type { DiskFormat } from "./disk-spec.js";
import { readBytes } from "./read-bytes.js";

/**
 * A disk image's format from its content, never its name: LinuxKit makes qcow2 disks called disk.img.
 * Naming the format to QEMU also keeps it from guessing, which it warns about for raw images.
 */
export async function detectImageFormat(path: string): Promise<DiskFormat> {
  const head = await readBytes(path, 0, 512);
  const magic = head.subarray(0, 8).toString("latin1");
  if (magic.startsWith("QFI\xfb")) return "qcow2";
  if (magic.startsWith("KDMV") || head.toString("latin1").startsWith("# Disk DescriptorFile")) return "vmdk";
  if (magic === "vhdxfile") return "vhdx";
  if (magic === "conectix") return "vpc"; // a dynamic VHD starts with a copy of its footer
  const { size } = await stat(path);
  if (size >= 512 && (await readBytes(path, size - 512, 8)).toString("latin1") === "conectix") return "vpc";
  return "raw";
}
