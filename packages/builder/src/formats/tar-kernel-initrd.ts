// `tar-kernel-initrd`: NAME-initrd.tar holding kernel, initrd.img, cmdline and ucode.cpio (the initrd
// without the microcode in front, which ships beside it), as LinuxKit writes it.

import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import type { Entry } from "../flatten/entry.js";
import { TarWriter } from "../sources/tar-writer.js";
import { withSink } from "./tar.js";
import type { FormatWriter } from "./types.js";

export const tarKernelInitrdFormat: FormatWriter = {
  name: "tar-kernel-initrd",
  summary: "one tar holding kernel, initrd.img, cmdline and ucode.cpio",
  outputs: (name) => [`${name}-initrd.tar`],
  async write(ctx, targets) {
    const member = (path: string, size: number): Entry => ({
      path,
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: ctx.mtime,
      size,
    });
    const initrd = ctx.initrdWithoutUcode ? await ctx.initrdWithoutUcode() : await ctx.initrd();
    await withSink(targets[0]!, async (sink) => {
      const tar = new TarWriter(sink);
      await tar.add(member("kernel", (await stat(ctx.kernel)).size), createReadStream(ctx.kernel));
      await tar.add(member("initrd.img", (await stat(initrd)).size), createReadStream(initrd));
      const cmdline = Buffer.from(ctx.cmdline);
      // LinuxKit leaves out an empty command line and a missing microcode archive.
      if (cmdline.length > 0) await tar.add(member("cmdline", cmdline.length), Readable.from([cmdline]));
      if (ctx.ucode !== undefined) {
        const ucode = await readFile(ctx.ucode);
        await tar.add(member("ucode.cpio", ucode.length), Readable.from([ucode]));
      }
      await tar.finish();
    });
  },
};
