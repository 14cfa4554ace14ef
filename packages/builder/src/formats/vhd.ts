// `vhd` → NAME.vhd: raw-bios as a fixed-size VHD (Azure, Hyper-V). qemu-img stamps the footer with the
// current time and a random id; both are replaced by the build's time and an id from the content.

import { open } from "node:fs/promises";
import { join } from "node:path";
import { BootIds } from "./boot-ids.js";
import { BIOS_DISK_TOOLS, buildBiosDisk } from "./raw-disk.js";
import { requireAmd64, toolCaller } from "./run-tool.js";
import type { FormatWriter } from "./types.js";

export const vhdFormat: FormatWriter = {
  name: "vhd",
  summary: "BIOS-bootable fixed-size VHD disk image (as raw-bios) of --size",
  outputs: (name) => [`${name}.vhd`],
  async write(ctx, [target]) {
    requireAmd64(ctx, this.name);
    await ctx.tools.require([...BIOS_DISK_TOOLS, "qemu-img"]);
    const run = toolCaller(ctx, [target!]);
    const raw = join(ctx.workDir, "bios", "disk.img");
    await buildBiosDisk(ctx, run, this.name, raw, join(ctx.workDir, "bios"));
    await run("qemu-img", [
      "convert",
      "-q",
      "-f",
      "raw",
      "-O",
      "vpc",
      "-o",
      "subformat=fixed,force_size",
      raw,
      target!,
    ]);
    const ids = await BootIds.of(ctx.kernel, await ctx.initrd(), ctx.cmdline);
    await fixVhdFooter(target!, ctx.mtime, ids.bytes16("vhd"));
  },
};

const FOOTER = 512;
const VHD_EPOCH = Date.UTC(2000, 0, 1) / 1000;

/** Rewrites the time stamp and unique id of a fixed VHD's footer (its last 512 bytes) and its checksum. */
export async function fixVhdFooter(path: string, mtime: Date, uniqueId: Buffer): Promise<void> {
  const fh = await open(path, "r+");
  try {
    const { size } = await fh.stat();
    const footer = Buffer.alloc(FOOTER);
    await fh.read(footer, 0, FOOTER, size - FOOTER);
    if (footer.toString("latin1", 0, 8) !== "conectix") throw new Error(`${path}: no VHD footer`);
    footer.writeUInt32BE(Math.max(0, Math.floor(mtime.getTime() / 1000) - VHD_EPOCH), 24);
    uniqueId.copy(footer, 68, 0, 16);
    footer.writeUInt32BE(0, 64);
    let sum = 0;
    for (const b of footer) sum += b;
    footer.writeUInt32BE(~sum >>> 0, 64);
    await fh.write(footer, 0, FOOTER, size - FOOTER);
  } finally {
    await fh.close();
  }
}
