import { existsSync } from "node:fs";
import { copyFile, rename, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { KilnError } from "@kiln/spec/errors";
import type { GuestArch } from "./accel.js";

/** UEFI firmware: a read-only code image and a template for the writable variable store. */
export interface UefiFirmware {
  code: string;
  /** Missing for a combined image (code and variables in one file, like /usr/share/ovmf/OVMF.fd). */
  varsTemplate?: string;
}

/** Where distributions put the firmware: Debian/Ubuntu, Fedora, Arch, QEMU's own install, Homebrew. */
export const FIRMWARE_CANDIDATES: Record<GuestArch, readonly UefiFirmware[]> = {
  x86_64: [
    { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
    { code: "/usr/share/OVMF/OVMF_CODE.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS.fd" },
    { code: "/usr/share/edk2/ovmf/OVMF_CODE.fd", varsTemplate: "/usr/share/edk2/ovmf/OVMF_VARS.fd" },
    { code: "/usr/share/edk2/x64/OVMF_CODE.4m.fd", varsTemplate: "/usr/share/edk2/x64/OVMF_VARS.4m.fd" },
    { code: "/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", varsTemplate: "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd" },
    {
      code: "/opt/homebrew/share/qemu/edk2-x86_64-code.fd",
      varsTemplate: "/opt/homebrew/share/qemu/edk2-i386-vars.fd",
    },
    {
      code: "/usr/local/share/qemu/edk2-x86_64-code.fd",
      varsTemplate: "/usr/local/share/qemu/edk2-i386-vars.fd",
    },
    { code: "/usr/share/qemu/edk2-x86_64-code.fd", varsTemplate: "/usr/share/qemu/edk2-i386-vars.fd" },
    { code: "/usr/share/ovmf/OVMF.fd" },
    { code: "/usr/share/ovmf/bios.bin" },
    { code: "/usr/share/qemu/OVMF.fd" },
  ],
  aarch64: [
    { code: "/usr/share/AAVMF/AAVMF_CODE.fd", varsTemplate: "/usr/share/AAVMF/AAVMF_VARS.fd" },
    {
      code: "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw",
      varsTemplate: "/usr/share/edk2/aarch64/vars-template-pflash.raw",
    },
    {
      code: "/opt/homebrew/share/qemu/edk2-aarch64-code.fd",
      varsTemplate: "/opt/homebrew/share/qemu/edk2-arm-vars.fd",
    },
    {
      code: "/usr/local/share/qemu/edk2-aarch64-code.fd",
      varsTemplate: "/usr/local/share/qemu/edk2-arm-vars.fd",
    },
    { code: "/usr/share/qemu/edk2-aarch64-code.fd", varsTemplate: "/usr/share/qemu/edk2-arm-vars.fd" },
  ],
};

const PACKAGE: Record<GuestArch, string> = { x86_64: "ovmf", aarch64: "qemu-efi-aarch64" };

/** The variable store that pairs with a code image named like OVMF_CODE*.fd or edk2-*-code.fd. */
function pairedVars(code: string, exists: (p: string) => boolean): string | undefined {
  const name = basename(code);
  const guesses = [
    name.replace("CODE", "VARS"),
    name.replace("code", "vars"),
    name.replace("x86_64-code", "i386-vars"),
  ];
  return guesses
    .filter((g) => g !== name)
    .map((g) => join(dirname(code), g))
    .find(exists);
}

/**
 * Find UEFI firmware: `--fw PATH` if given (its OVMF_VARS sibling is used when there is one), else the
 * first of the usual paths that exists.
 */
export function findUefiFirmware(
  arch: GuestArch,
  fw?: string,
  exists: (p: string) => boolean = existsSync,
): UefiFirmware {
  if (fw !== undefined) {
    if (!exists(fw))
      throw new KilnError(`--fw ${fw}: no such file`, {
        hint: `install ${PACKAGE[arch]}, or leave out --fw to search the usual places`,
      });
    const varsTemplate = pairedVars(fw, exists);
    return varsTemplate ? { code: fw, varsTemplate } : { code: fw };
  }
  for (const c of FIRMWARE_CANDIDATES[arch]) {
    if (exists(c.code) && (c.varsTemplate === undefined || exists(c.varsTemplate))) return c;
  }
  throw new KilnError(`UEFI boot needs ${arch} firmware, and none was found in the usual places`, {
    hint: `install ${PACKAGE[arch]} (Debian/Ubuntu), edk2-ovmf (Fedora) or qemu (Homebrew), or pass --fw PATH`,
  });
}

/**
 * The VM's own writable copy: the variable store, or the whole image when code and variables are one
 * file. It is kept across runs, like a machine's NVRAM, and replaced only when its size no longer
 * matches the firmware's (another firmware was chosen).
 */
export async function vmFirmwareCopy(fw: UefiFirmware, stateDir: string): Promise<string> {
  const template = fw.varsTemplate ?? fw.code;
  const target = join(stateDir, fw.varsTemplate ? "efi-vars.fd" : "efi-firmware.fd");
  const [have, want] = await Promise.all([stat(target).catch(() => undefined), stat(template)]);
  if (have?.size === want.size) return target;
  const tmp = `${target}.tmp-${process.pid}`;
  await copyFile(template, tmp);
  await rename(tmp, target);
  return target;
}
