// `iso-efi` → NAME-efi.iso and `iso-efi-initrd` → NAME-efi-initrd.iso: GRUB in a FAT El Torito image,
// and the kernel, initrd and grub.cfg on the ISO. LinuxKit's iso-efi puts the root filesystem on the ISO
// (root=/dev/sr0); kiln's carries the initrd for the reason given in iso-bios.ts, which is exactly what
// LinuxKit's iso-efi-initrd is, so the two formats differ only in their file names.

import { stat } from "node:fs/promises";
import { join } from "node:path";
import { grubConfig } from "./boot-config.js";
import { BootIds } from "./boot-ids.js";
import { FAT_TOOLS, makeFat } from "./fat.js";
import { GRUB_TOOLS, makeGrubEfi } from "./grub.js";
import { requireAmd64, toolCaller } from "./run-tool.js";
import { stageFile, stageText } from "./stage.js";
import type { FormatContext, FormatWriter } from "./types.js";
import { isoArgs, isoContents } from "./xorriso.js";

function efiIsoWriter(name: string, suffix: string, summary: string): FormatWriter {
  return {
    name,
    summary,
    outputs: (base) => [`${base}${suffix}`],
    async write(ctx, [target]) {
      requireAmd64(ctx, name);
      await ctx.tools.require(["xorriso", ...FAT_TOOLS, ...GRUB_TOOLS]);
      await writeEfiIso(ctx, target!);
    },
  };
}

export const isoEfiFormat = efiIsoWriter(
  "iso-efi",
  "-efi.iso",
  "UEFI-bootable ISO (GRUB) with the kernel and initrd",
);
export const isoEfiInitrdFormat = efiIsoWriter(
  "iso-efi-initrd",
  "-efi-initrd.iso",
  "UEFI-bootable ISO (GRUB) with the kernel and initrd; the same image as iso-efi",
);

async function writeEfiIso(ctx: FormatContext, target: string): Promise<void> {
  const run = toolCaller(ctx, [target]);
  const dir = join(ctx.workDir, "iso-efi");
  const initrd = await ctx.initrd();
  const ids = await BootIds.of(ctx.kernel, initrd, ctx.cmdline);
  const marker = `.kiln-${ids.marker}`;
  const grub = join(dir, "BOOTX64.EFI");
  await stageFile(ctx.kernel, join(dir, "kernel"));
  await stageFile(initrd, join(dir, "initrd.img"));
  await stageText(join(dir, marker), "");
  await stageText(join(dir, "grub.cfg"), grubConfig("/kernel", "/initrd.img", ctx.cmdline));
  await makeGrubEfi(run, dir, grub, `/${marker}`);
  // As small as the loader allows, as LinuxKit sizes it: its size plus 511 KiB, in 32 KiB steps.
  const kib = Math.floor((Math.floor((await stat(grub)).size / 1024) + 511) / 32) * 32;
  const efiboot = join(dir, "efiboot.img");
  await makeFat(run, {
    image: efiboot,
    create: true,
    sectors: kib * 2,
    volumeId: ids.hex32("efiboot"),
    label: "EFIBOOT",
    dirs: ["/EFI", "/EFI/BOOT"],
    copies: [{ dir: "/EFI/BOOT", files: [grub] }],
  });
  await run("xorriso", [
    ...isoArgs(target, ctx.mtime),
    "-e",
    "efiboot.img",
    "-no-emul-boot",
    "-c",
    "boot.catalog",
    "-hide",
    "efiboot.img",
    "-hide",
    "boot.catalog",
    ...isoContents([
      ["efiboot.img", efiboot],
      ["EFI/BOOT/grub.cfg", join(dir, "grub.cfg")],
      [marker, join(dir, marker)],
      ["kernel", join(dir, "kernel")],
      ["initrd.img", join(dir, "initrd.img")],
    ]),
  ]);
}
