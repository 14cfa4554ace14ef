// The two bootable disk layouts every disk format is made from: BIOS (MBR, syslinux) and UEFI (GPT, GRUB).
// Each holds one FAT partition with the kernel and initrd; the rest of `--size` is free space in it.

import { stat } from "node:fs/promises";
import { join } from "node:path";
import { DATA_FILES } from "../tools/packages.js";
import { grubConfig, syslinuxConfig } from "./boot-config.js";
import { BootIds } from "./boot-ids.js";
import { createSparse, gptScript, mbrScript, PART_START, planDisk } from "./disk.js";
import { FAT_TOOLS, makeFat } from "./fat.js";
import { GRUB_TOOLS, makeGrubEfi } from "./grub.js";
import type { RunTool } from "./run-tool.js";
import { stageFile, stageText } from "./stage.js";
import type { FormatContext } from "./types.js";

export const BIOS_DISK_TOOLS = ["sfdisk", "syslinux", "dd", ...FAT_TOOLS, DATA_FILES.syslinuxMbr];
export const EFI_DISK_TOOLS = ["sfdisk", ...FAT_TOOLS, ...GRUB_TOOLS];

/** Writes a BIOS-bootable raw disk image to `target`, staging its files under `dir`. */
export async function buildBiosDisk(
  ctx: FormatContext,
  run: RunTool,
  format: string,
  target: string,
  dir: string,
): Promise<void> {
  const initrd = await ctx.initrd();
  const ids = await BootIds.of(ctx.kernel, initrd, ctx.cmdline);
  const files = {
    kernel: join(dir, "kernel"),
    initrd: join(dir, "initrd.img"),
    config: join(dir, "syslinux.cfg"),
    table: join(dir, "partitions.sfdisk"),
  };
  await stageFile(ctx.kernel, files.kernel);
  await stageFile(initrd, files.initrd);
  await stageText(files.config, syslinuxConfig("/kernel", "/initrd.img", ctx.cmdline));
  const payload = (await stat(files.kernel)).size + (await stat(files.initrd)).size + 512 * 1024;
  const plan = planDisk(format, ctx.size, payload, "mbr");
  await stageText(files.table, mbrScript(plan, ids.hex32("mbr")));

  await createSparse(target, plan.bytes);
  await run("sfdisk", ["--no-reread", "--no-tell-kernel", "-q", target], { file: files.table });
  await makeFat(run, {
    image: target,
    create: false,
    offsetSectors: PART_START,
    sectors: plan.partSectors,
    fatBits: plan.fatBits,
    volumeId: ids.hex32("fat"),
    label: "LINUXKIT",
    dirs: [],
    copies: [{ dir: "/", files: [files.kernel, files.initrd, files.config] }],
  });
  await run("syslinux", ["--offset", String(PART_START * 512), "--install", target]);
  // syslinux's MBR code: boots the active partition's boot sector.
  await run("dd", [
    `if=${DATA_FILES.syslinuxMbr}`,
    `of=${target}`,
    "bs=440",
    "count=1",
    "conv=notrunc",
    "status=none",
  ]);
}

/** Writes a UEFI-bootable raw disk image (GPT, one EFI System Partition) to `target`. */
export async function buildEfiDisk(
  ctx: FormatContext,
  run: RunTool,
  format: string,
  target: string,
  dir: string,
): Promise<void> {
  const initrd = await ctx.initrd();
  const ids = await BootIds.of(ctx.kernel, initrd, ctx.cmdline);
  const marker = `.kiln-${ids.marker}`;
  const files = {
    kernel: join(dir, "kernel"),
    initrd: join(dir, "initrd.img"),
    marker: join(dir, marker),
    grub: join(dir, "EFI/BOOT/BOOTX64.EFI"),
    config: join(dir, "EFI/BOOT/grub.cfg"),
    table: join(dir, "partitions.sfdisk"),
  };
  await stageFile(ctx.kernel, files.kernel);
  await stageFile(initrd, files.initrd);
  await stageText(files.marker, "");
  await stageText(files.config, grubConfig("/kernel", "/initrd.img", ctx.cmdline));
  await makeGrubEfi(run, dir, files.grub, `/${marker}`);
  let payload = 512 * 1024;
  for (const f of [files.kernel, files.initrd, files.grub]) payload += (await stat(f)).size;
  const plan = planDisk(format, ctx.size, payload, "gpt");
  await stageText(files.table, gptScript(plan, ids.guid("gpt-disk"), ids.guid("gpt-esp")));

  await createSparse(target, plan.bytes);
  await run("sfdisk", ["--no-reread", "--no-tell-kernel", "-q", target], { file: files.table });
  await makeFat(run, {
    image: target,
    create: false,
    offsetSectors: PART_START,
    sectors: plan.partSectors,
    fatBits: plan.fatBits,
    volumeId: ids.hex32("fat"),
    label: "LINUXKIT",
    dirs: ["/EFI", "/EFI/BOOT"],
    copies: [
      { dir: "/", files: [files.kernel, files.initrd, files.marker] },
      { dir: "/EFI/BOOT", files: [files.grub, files.config] },
    ],
  });
}
