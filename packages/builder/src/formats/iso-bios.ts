// `iso-bios` → NAME.iso: isolinux, the kernel and the initrd on an isohybrid ISO (boots as a CD or a disk).
// LinuxKit puts the whole root filesystem on the ISO and boots root=/dev/sr0; Debian's kernel has isofs
// and sr_mod as modules, so kiln's ISO boots a RAM root from the initrd, like kernel+initrd.

import { join } from "node:path";
import { DATA_FILES } from "../tools/packages.js";
import { syslinuxConfig } from "./boot-config.js";
import { requireAmd64, toolCaller } from "./run-tool.js";
import { stageFile, stageText } from "./stage.js";
import type { FormatWriter } from "./types.js";
import { isoArgs, isoContents } from "./xorriso.js";

export const isoBiosFormat: FormatWriter = {
  name: "iso-bios",
  summary: "BIOS-bootable ISO (isolinux, isohybrid) with the kernel and initrd",
  outputs: (name) => [`${name}.iso`],
  async write(ctx, [target]) {
    requireAmd64(ctx, this.name);
    await ctx.tools.require([
      "xorriso",
      DATA_FILES.isolinuxBin,
      DATA_FILES.isohybridMbr,
      DATA_FILES.ldlinuxC32,
    ]);
    const dir = join(ctx.workDir, "iso-bios");
    const initrd = await ctx.initrd();
    await stageFile(ctx.kernel, join(dir, "kernel"));
    await stageFile(initrd, join(dir, "initrd.img"));
    await stageText(
      join(dir, "isolinux.cfg"),
      syslinuxConfig("/boot/kernel", "/boot/initrd.img", ctx.cmdline),
    );
    await toolCaller(ctx, [target!])("xorriso", [
      ...isoArgs(target!, ctx.mtime),
      "-b",
      "isolinux/isolinux.bin",
      "-c",
      "isolinux/boot.cat",
      "-no-emul-boot",
      "-boot-load-size",
      "4",
      "-boot-info-table",
      "-isohybrid-mbr",
      DATA_FILES.isohybridMbr,
      ...isoContents([
        ["isolinux/isolinux.bin", DATA_FILES.isolinuxBin],
        ["isolinux/ldlinux.c32", DATA_FILES.ldlinuxC32],
        ["isolinux/isolinux.cfg", join(dir, "isolinux.cfg")],
        ["boot/kernel", join(dir, "kernel")],
        ["boot/initrd.img", join(dir, "initrd.img")],
      ]),
    ]);
  },
};
