// The choices `kiln build` offers, as plain data: declaring the command (for help, docs and every other
// command's start-up) must not load @kiln/builder. build-choices.test.ts holds them equal to the builder's.

/** The names of the builder's FORMATS, in its order. */
export const FORMAT_NAMES: readonly string[] = [
  "kernel+initrd",
  "tar-kernel-initrd",
  "tar",
  "docker",
  "iso-bios",
  "iso-efi",
  "iso-efi-initrd",
  "kernel+squashfs",
  "raw-bios",
  "raw-efi",
  "qcow2-bios",
  "qcow2-efi",
  "vhd",
  "vmdk",
];

/** The builder's COMPRESSIONS. */
export const COMPRESSION_NAMES: readonly string[] = ["gzip", "zstd", "xz", "none"];

/** The builder's BUILDER_MODES. */
export const BUILDER_MODE_NAMES: readonly string[] = ["native", "container"];
