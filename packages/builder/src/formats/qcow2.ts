// `qcow2-bios` → NAME.qcow2 and `qcow2-efi` → NAME-efi.qcow2: the raw disks, converted. LinuxKit boots a
// helper VM to make qcow2-bios; the same disk can be written directly.

import { join } from "node:path";
import { BIOS_DISK_TOOLS, buildBiosDisk, buildEfiDisk, EFI_DISK_TOOLS } from "./raw-disk.js";
import { requireAmd64, toolCaller } from "./run-tool.js";
import type { FormatWriter } from "./types.js";

export const qcow2BiosFormat: FormatWriter = {
  name: "qcow2-bios",
  summary: "BIOS-bootable qcow2 disk image (as raw-bios) of --size",
  outputs: (name) => [`${name}.qcow2`],
  async write(ctx, [target]) {
    requireAmd64(ctx, this.name);
    await ctx.tools.require([...BIOS_DISK_TOOLS, "qemu-img"]);
    const run = toolCaller(ctx, [target!]);
    const raw = join(ctx.workDir, "bios", "disk.img");
    await buildBiosDisk(ctx, run, this.name, raw, join(ctx.workDir, "bios"));
    await run("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, target!]);
  },
};

export const qcow2EfiFormat: FormatWriter = {
  name: "qcow2-efi",
  summary: "UEFI-bootable qcow2 disk image (as raw-efi) of --size",
  outputs: (name) => [`${name}-efi.qcow2`],
  async write(ctx, [target]) {
    requireAmd64(ctx, this.name);
    await ctx.tools.require([...EFI_DISK_TOOLS, "qemu-img"]);
    const run = toolCaller(ctx, [target!]);
    const raw = join(ctx.workDir, "efi", "disk.img");
    await buildEfiDisk(ctx, run, this.name, raw, join(ctx.workDir, "efi"));
    await run("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, target!]);
  },
};
