// Which Debian package provides each program and data file the format writers use. The builder image
// (images/builder/build.yml) installs exactly these packages, so the two lists must move together.

/** Programs, by name as run. */
const PROGRAMS: Record<string, string> = {
  xorriso: "xorriso",
  mksquashfs: "squashfs-tools",
  sqfstar: "squashfs-tools",
  "grub-mkimage": "grub-common",
  mcopy: "mtools",
  mmd: "mtools",
  mdir: "mtools",
  "mkfs.vfat": "dosfstools",
  sfdisk: "fdisk",
  syslinux: "syslinux",
  "qemu-img": "qemu-utils",
  cpio: "cpio",
  dd: "coreutils",
};

/** Data files the tools read from their installed location (inside the builder image in container mode). */
export const DATA_FILES = {
  isolinuxBin: "/usr/lib/ISOLINUX/isolinux.bin",
  isohybridMbr: "/usr/lib/ISOLINUX/isohdpfx.bin",
  ldlinuxC32: "/usr/lib/syslinux/modules/bios/ldlinux.c32",
  syslinuxMbr: "/usr/lib/syslinux/mbr/mbr.bin",
  grubEfiModules: "/usr/lib/grub/x86_64-efi/linux.mod",
} as const;

const FILES: Record<string, string> = {
  [DATA_FILES.isolinuxBin]: "isolinux",
  [DATA_FILES.isohybridMbr]: "isolinux",
  [DATA_FILES.ldlinuxC32]: "syslinux-common",
  [DATA_FILES.syslinuxMbr]: "syslinux-common",
  [DATA_FILES.grubEfiModules]: "grub-efi-amd64-bin",
};

/** The Debian package that provides a program or an absolute data-file path, if kiln knows it. */
export function aptPackageFor(tool: string): string | undefined {
  return tool.startsWith("/") ? FILES[tool] : PROGRAMS[tool];
}

/** Every package the format writers need: the builder image's package list. */
export function builderPackages(): string[] {
  return [...new Set([...Object.values(PROGRAMS), ...Object.values(FILES)])].sort();
}
