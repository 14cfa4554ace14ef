// `kernel+initrd` (LinuxKit's default): NAME-kernel, NAME-initrd.img (ucode + compressed cpio), NAME-cmdline.

import { copyFile, link, writeFile } from "node:fs/promises";
import type { FormatWriter } from "./types.js";

/** A file the build made in its work directory, put at `target`: linked when on one filesystem, else copied. */
export async function place(source: string, target: string): Promise<void> {
  try {
    await link(source, target);
  } catch {
    await copyFile(source, target);
  }
}

export const kernelInitrdFormat: FormatWriter = {
  name: "kernel+initrd",
  summary: "kernel, initrd and command line as three files, booted with qemu -kernel/-initrd (default)",
  outputs: (name) => [`${name}-kernel`, `${name}-initrd.img`, `${name}-cmdline`],
  async write(ctx, targets) {
    const [kernel, initrd, cmdline] = targets as [string, string, string];
    await place(ctx.kernel, kernel);
    await place(await ctx.initrd(), initrd);
    await writeFile(cmdline, ctx.cmdline);
  },
};
