import { UsageError } from "@kiln/spec/errors";
import { parseSize } from "./size.js";

/** Formats kiln can create; others (vmdk, vhd...) are used when they already exist. */
export type CreatableFormat = "raw" | "qcow2";
export type DiskFormat = CreatableFormat | "vmdk" | "vpc" | "vhdx";
/** How the guest sees a disk: virtio-blk (/dev/vdX) or an AHCI/IDE disk (/dev/sdX). */
export type DiskInterface = "virtio" | "ide";

export interface DiskSpec {
  /** Missing means STATE/disk.img, disk1.img... (which then needs a size). */
  path?: string;
  /** Size for creating the disk when it does not exist; an existing disk is never resized. */
  sizeBytes?: number;
  /** For a new disk, the format to create (default qcow2, as LinuxKit); for an existing one, a check. */
  format?: DiskFormat;
  interface?: DiskInterface;
}

const FORMATS: readonly string[] = ["raw", "qcow2", "vmdk", "vpc", "vhdx"];
const INTERFACES: readonly string[] = ["virtio", "ide"];

/**
 * One `--disk` value: `[file=]PATH[,size=S][,format=raw|qcow2][,if=virtio|ide]`, LinuxKit's syntax.
 * A bare size number is GiB, as in LinuxKit; `warn` hears about sizes that look like MiB.
 */
export function parseDiskSpec(text: string, warn: (message: string) => void = () => {}): DiskSpec {
  const spec: DiskSpec = {};
  for (const part of text.split(",")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? "file" : part.slice(0, eq);
    const value = eq < 0 ? part : part.slice(eq + 1);
    switch (key) {
      case "file":
        if (spec.path !== undefined) throw new UsageError(`--disk ${text}: more than one file`);
        spec.path = value;
        break;
      case "size": {
        const size = parseSize(value, "G", `--disk ${text}: size`);
        if (size.warning) warn(size.warning);
        spec.sizeBytes = size.bytes;
        break;
      }
      case "format":
        if (!FORMATS.includes(value)) {
          throw new UsageError(
            `--disk ${text}: unknown format "${value}"`,
            `use one of ${FORMATS.join(", ")}`,
          );
        }
        spec.format = value as DiskFormat;
        break;
      case "if":
      case "interface":
        if (!INTERFACES.includes(value)) {
          throw new UsageError(`--disk ${text}: unknown interface "${value}"`, "use virtio or ide");
        }
        spec.interface = value as DiskInterface;
        break;
      default:
        throw new UsageError(
          `--disk ${text}: unknown key "${key}"`,
          "the form is [file=]PATH[,size=4G][,format=raw|qcow2][,if=virtio|ide]",
        );
    }
  }
  if (spec.path === undefined && spec.sizeBytes === undefined) {
    throw new UsageError(`--disk ${text}: needs a file or a size`, "e.g. --disk disk1.img,size=4G");
  }
  if (spec.path === "") throw new UsageError(`--disk ${text}: empty file name`);
  return spec;
}
