// `vmdk` → NAME.vmdk: raw-bios as a stream-optimised VMDK (VMware), as LinuxKit converts it. The
// descriptor names the file itself and carries a random content id (CID); kiln converts under the final
// name and derives the CID from the content.

import { copyFile, mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { BootIds } from "./boot-ids.js";
import { BIOS_DISK_TOOLS, buildBiosDisk } from "./raw-disk.js";
import { requireAmd64, toolCaller } from "./run-tool.js";
import type { FormatWriter } from "./types.js";

export const vmdkFormat: FormatWriter = {
  name: "vmdk",
  summary: "BIOS-bootable stream-optimised VMDK disk image (as raw-bios) of --size",
  outputs: (name) => [`${name}.vmdk`],
  async write(ctx, [target]) {
    requireAmd64(ctx, this.name);
    await ctx.tools.require([...BIOS_DISK_TOOLS, "qemu-img"]);
    const run = toolCaller(ctx, [target!]);
    const raw = join(ctx.workDir, "bios", "disk.img");
    await buildBiosDisk(ctx, run, this.name, raw, join(ctx.workDir, "bios"));
    const dir = join(ctx.workDir, "vmdk");
    await mkdir(dir, { recursive: true });
    const converted = join(dir, this.outputs(ctx.name)[0]!);
    const options = "adapter_type=lsilogic,subformat=streamOptimized,compat6";
    await run("qemu-img", ["convert", "-q", "-f", "raw", "-O", "vmdk", "-o", options, raw, converted]);
    const ids = await BootIds.of(ctx.kernel, await ctx.initrd(), ctx.cmdline);
    await fixVmdkCid(converted, ids.hex32("vmdk"));
    await copyFile(converted, target!);
  },
};

/**
 * Replaces the `CID=` value in a VMDK's embedded descriptor. qemu-img prints its random CID without
 * leading zeros, so the line's length varies; the whole descriptor area (a fixed size, zero-padded) is
 * written back, so the file is the same whatever CID qemu-img picked.
 */
export async function fixVmdkCid(path: string, cid: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    const header = Buffer.alloc(512);
    await fh.read(header, 0, 512, 0);
    if (header.toString("latin1", 0, 4) !== "KDMV") throw new Error(`${path}: not a sparse VMDK`);
    const offset = Number(header.readBigUInt64LE(28)) * 512;
    const length = Number(header.readBigUInt64LE(36)) * 512;
    const descriptor = Buffer.alloc(length);
    await fh.read(descriptor, 0, length, offset);
    // The descriptor is a NUL-terminated string: what follows the first NUL may be the stale tail of a
    // longer descriptor written there before, so it is not kept.
    const nul = descriptor.indexOf(0);
    const text = descriptor.toString("latin1", 0, nul < 0 ? length : nul);
    const line = /^CID=[0-9a-f]{1,8}$/m;
    if (!line.test(text)) throw new Error(`${path}: no CID in the VMDK descriptor`);
    const fixed = Buffer.from(text.replace(line, `CID=${cid}`), "latin1");
    if (fixed.length > length) throw new Error(`${path}: the VMDK descriptor has no room for the CID`);
    const area = Buffer.alloc(length);
    fixed.copy(area);
    await fh.write(area, 0, length, offset);
  } finally {
    await fh.close();
  }
}
