import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { KilnError, UsageError } from "@kiln/spec/errors";
import type { DiskFormat } from "./disk-spec.js";
import { readIsoBoot } from "./el-torito.js";
import { detectImageFormat } from "./image-format.js";
import { type DiskBoot, readRawDiskBoot } from "./partition-table.js";

export type BootKind = "kernel" | "squashfs" | "iso" | "disk";
export type FirmwareRequest = "auto" | "bios" | "uefi";

interface BootBase {
  /** The path minus -kernel/.iso/.img...: where `<prefix>-state` and the VM's default name come from. */
  prefix: string;
  uefi: boolean;
  /** Why this firmware was chosen, for `kiln run`'s first line. */
  firmwareReason: string;
}
export type Boot = BootBase &
  (
    | { kind: "kernel"; kernel: string; initrd: string; cmdline: string }
    | { kind: "squashfs"; kernel: string; squashfs: string; cmdline: string }
    | { kind: "iso"; path: string }
    | { kind: "disk"; path: string; format: DiskFormat }
  );

export interface DetectBootOptions {
  /** Skip detection, as LinuxKit's --kernel/--squashfs/--iso flags do (files are still checked). */
  kind?: BootKind;
  firmware?: FirmwareRequest;
  /** Finds qemu-img, to read the partition table of a qcow2, vmdk or vhd image. */
  qemuImg?: () => string;
  onNotice?: (message: string) => void;
}

const IMAGE_EXT = /\.(iso|img|raw|qcow2|vmdk|vhd|vhdx)$/i;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await isFile(p)) return p;
  return undefined;
}

/**
 * Decide how to boot `target` from the files: PREFIX-kernel + PREFIX-initrd.img (+ PREFIX-cmdline),
 * PREFIX-kernel + PREFIX-squashfs.img, an ISO, or a disk image. Firmware is detected too, which LinuxKit
 * leaves to a --uefi flag: an ISO whose El Torito catalog has only an EFI entry, or a disk with an EFI
 * system partition and no BIOS boot code, boots with UEFI.
 */
export async function detectBoot(target: string, options: DetectBootOptions = {}): Promise<Boot> {
  const abs = resolve(target);
  const firmware = options.firmware ?? "auto";
  const exists = await isFile(abs);
  const kind = options.kind ?? (exists ? ((await looksLikeIso(abs)) ? "iso" : "disk") : "kernel");
  const prefix = exists ? abs.replace(IMAGE_EXT, "") : abs;
  if (kind === "kernel" || kind === "squashfs") {
    // -bzImage is the 2017 name (moby build), still what the seed post's appliance produced.
    const kernel = await firstExisting([`${abs}-kernel`, `${abs}-bzImage`]);
    if (!kernel) {
      if (exists)
        throw new UsageError(
          `${target} is a file, not a kernel+initrd prefix`,
          "leave out --kernel/--squashfs",
        );
      throw new KilnError(`${target}: no such file, and no ${target}-kernel either`, {
        hint: "give a LinuxKit output prefix (PREFIX-kernel, PREFIX-initrd.img, PREFIX-cmdline), an .iso or a disk image",
      });
    }
    const squashfs = `${abs}-squashfs.img`;
    const isSquashfs =
      options.kind === "squashfs" || (options.kind === undefined && (await isFile(squashfs)));
    const cmdline = await readCmdline(`${abs}-cmdline`, options.onNotice);
    const fw = {
      prefix,
      uefi: firmware === "uefi",
      firmwareReason: firmware === "uefi" ? "--uefi" : "direct kernel boot",
    };
    if (isSquashfs) {
      if (!(await isFile(squashfs)))
        throw new KilnError(`${target}-squashfs.img: no such file`, {
          hint: "build the squashfs output, or leave out --squashfs",
        });
      return { kind: "squashfs", kernel, squashfs, cmdline, ...fw };
    }
    const initrd = `${abs}-initrd.img`;
    if (!(await isFile(initrd))) {
      throw new KilnError(`${target}-initrd.img: no such file (${basename(kernel)} is there)`, {
        hint: "build the kernel+initrd output again; kiln boots PREFIX-kernel with PREFIX-initrd.img",
      });
    }
    return { kind: "kernel", kernel, initrd, cmdline, ...fw };
  }
  if (!exists) throw new KilnError(`${target}: no such file`);
  if (kind === "iso") {
    const cat = await readIsoBoot(abs);
    let uefi: boolean;
    let reason: string;
    if (firmware !== "auto") {
      uefi = firmware === "uefi";
      reason = `--${firmware}`;
    } else if (cat?.efi && !cat.bios) {
      uefi = true;
      reason = "the ISO's El Torito catalog has only an EFI entry";
    } else if (cat?.bios) {
      uefi = false;
      reason = cat.efi
        ? "the ISO boots either way; BIOS needs no firmware files"
        : "the ISO's El Torito catalog has a BIOS entry";
    } else {
      uefi = /-efi\.iso$/i.test(abs);
      reason = uefi ? "the name ends in -efi.iso (no El Torito catalog found)" : "no El Torito catalog found";
    }
    return { kind: "iso", path: abs, prefix, uefi, firmwareReason: reason };
  }
  const format = await detectImageFormat(abs);
  let uefi = firmware === "uefi";
  let reason = `--${firmware}`;
  if (firmware === "auto") {
    const table = await readImageBoot(abs, format, options.qemuImg);
    uefi = table?.esp === true && !table.biosBootable;
    reason =
      table === undefined
        ? `could not read the partition table of a ${format} image`
        : uefi
          ? `the disk has an EFI system partition (${table.table}) and no BIOS boot code`
          : table.esp
            ? "the disk boots either way; BIOS needs no firmware files"
            : "the disk has no EFI system partition";
  }
  return { kind: "disk", path: abs, format, prefix, uefi, firmwareReason: reason };
}

async function looksLikeIso(path: string): Promise<boolean> {
  if (/\.iso$/i.test(path)) return true;
  return (await readIsoBoot(path)) !== undefined;
}

async function readCmdline(path: string, onNotice?: (m: string) => void): Promise<string> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    onNotice?.(`${basename(path)} not found; booting with an empty kernel command line`);
    return "";
  }
}

/** The partition table of any image format: raw is read directly, others through `qemu-img dd`. */
async function readImageBoot(
  path: string,
  format: DiskFormat,
  findQemuImg?: () => string,
): Promise<DiskBoot | undefined> {
  if (format === "raw") return readRawDiskBoot(path);
  if (!findQemuImg) return undefined;
  const qemuImg = findQemuImg();
  const dir = await mkdtemp(join(tmpdir(), "kiln-probe-"));
  try {
    const out = join(dir, "head.raw");
    // 64 KiB holds the MBR, the GPT header and 128 entries, for 512- and 4096-byte sectors alike.
    const ok = await new Promise<boolean>((res) => {
      const p = spawn(
        qemuImg,
        ["dd", "-U", "-f", format, "-O", "raw", "bs=65536", "count=1", `if=${path}`, `of=${out}`],
        { stdio: "ignore" },
      );
      p.on("error", () => res(false));
      p.on("exit", (code) => res(code === 0));
    });
    return ok ? await readRawDiskBoot(out) : undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
