// `raw-bios` → NAME-bios.img: an MBR disk of --size with one active FAT partition, booted by syslinux.

import { join } from "node:path";
import { BIOS_DISK_TOOLS, buildBiosDisk } from "./raw-disk.js";
import { requireAmd64, toolCaller } from "./run-tool.js";
import type { FormatWriter } from "./types.js";

export const rawBiosFormat: FormatWriter = {
  name: "raw-bios",
  summary: "BIOS-bootable raw disk image (MBR, FAT, syslinux) of --size",
  outputs: (name) => [`${name}-bios.img`],
  async write(ctx, [target]) {
    requireAmd64(ctx, this.name);
    await ctx.tools.require(BIOS_DISK_TOOLS);
    await buildBiosDisk(ctx, toolCaller(ctx, [target!]), this.name, target!, join(ctx.workDir, "bios"));
  },
};
