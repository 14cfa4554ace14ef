// GRUB for UEFI: one BOOTX64.EFI with the modules kiln's boot entry needs and a small embedded config.
// grub-mkimage output depends only on its inputs (checked: same bytes on every run).

import { join } from "node:path";
import { DATA_FILES } from "../tools/packages.js";
import { grubEmbeddedConfig } from "./boot-config.js";
import type { RunTool } from "./run-tool.js";
import { stageText } from "./stage.js";

export const GRUB_TOOLS = ["grub-mkimage", DATA_FILES.grubEfiModules];

const MODULES = [
  "part_gpt",
  "part_msdos",
  "fat",
  "iso9660",
  "search",
  "search_fs_file",
  "configfile",
  "normal",
  "linux",
  "echo",
  "test",
  // Without a video driver GRUB prints "no suitable video mode found" before booting.
  "all_video",
];

/** Writes BOOTX64.EFI to `out`; it looks for `markerPath` to find the filesystem with its grub.cfg. */
export async function makeGrubEfi(run: RunTool, dir: string, out: string, markerPath: string): Promise<void> {
  const embedded = join(dir, "grub-embedded.cfg");
  await stageText(embedded, grubEmbeddedConfig(markerPath));
  await run("grub-mkimage", ["-O", "x86_64-efi", "-p", "/EFI/BOOT", "-c", embedded, "-o", out, ...MODULES]);
}
