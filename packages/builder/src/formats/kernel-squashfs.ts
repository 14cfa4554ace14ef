// `kernel+squashfs` → NAME-kernel, NAME-cmdline, NAME-squashfs.img: the root filesystem (everything but
// boot/, as LinuxKit) as squashfs, read straight from the appliance tar by sqfstar (squashfs-tools 4.5+).
// Owners, modes, times and xattrs come from the tar. The root directory is not in the tar, and sqfstar
// 4.5.1 ignores -root-time, stamping it with the clock; given SOURCE_DATE_EPOCH it uses that instead
// (and for the superblock) but clamps newer file times to it. So the epoch handed to sqfstar is the
// build's time stamp or the tar's newest time, whichever is later: nothing is clamped and the image
// depends only on its inputs.

import { copyFile, writeFile } from "node:fs/promises";
import { toolCaller } from "./run-tool.js";
import { newestMtime } from "./tar-times.js";
import type { FormatWriter } from "./types.js";

export const kernelSquashfsFormat: FormatWriter = {
  name: "kernel+squashfs",
  summary: "kernel, cmdline and the root filesystem as squashfs (needs squashfs and a disk driver built in)",
  outputs: (name) => [`${name}-kernel`, `${name}-cmdline`, `${name}-squashfs.img`],
  async write(ctx, [kernel, cmdline, squashfs]) {
    await ctx.tools.require(["sqfstar"]);
    const tar = await ctx.rootfsTar();
    await copyFile(ctx.kernel, kernel!);
    await writeFile(cmdline!, ctx.cmdline);
    const epoch = Math.max(Math.floor(ctx.mtime.getTime() / 1000), (await newestMtime(tar)) ?? 0);
    await toolCaller(ctx, [squashfs!], epoch)(
      "sqfstar",
      [
        "-quiet",
        "-no-progress",
        "-exit-on-error",
        // The target is the caller's temp file, which may already exist (empty).
        "-force",
        "-root-mode",
        "755",
        "-root-uid",
        "0",
        "-root-gid",
        "0",
        squashfs!,
        "boot",
      ],
      { file: tar },
    );
  },
};
