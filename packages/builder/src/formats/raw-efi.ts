// `raw-efi` → NAME-efi.img: a GPT disk of --size with one EFI System Partition, booted by GRUB.
// LinuxKit boots systemd-boot and a unified kernel image here; GRUB reads the same kernel and initrd files.

import { join } from "node:path";
import { buildEfiDisk, EFI_DISK_TOOLS } from "./raw-disk.js";
import { requireAmd64, toolCaller } from "./run-tool.js";
import type { FormatWriter } from "./types.js";

export const rawEfiFormat: FormatWriter = {
  name: "raw-efi",
  summary: "UEFI-bootable raw disk image (GPT, EFI System Partition, GRUB) of --size",
  outputs: (name) => [`${name}-efi.img`],
  async write(ctx, [target]) {
    requireAmd64(ctx, this.name);
    await ctx.tools.require(EFI_DISK_TOOLS);
    await buildEfiDisk(ctx, toolCaller(ctx, [target!]), this.name, target!, join(ctx.workDir, "efi"));
  },
};
