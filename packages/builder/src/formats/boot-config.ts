// Boot loader configuration files. The kernel command line goes in unchanged, as LinuxKit does, except
// that EFI entries get `text` appended (LinuxKit's GRUB images do the same).

/** Line breaks would end the APPEND or linux line early; the kernel treats them as spaces anyway. */
function oneLine(cmdline: string): string {
  return cmdline.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/** isolinux.cfg / syslinux.cfg: APPEND takes the rest of its line literally. */
export function syslinuxConfig(kernel: string, initrd: string, cmdline: string): string {
  const append = oneLine(cmdline);
  return [
    "DEFAULT linux",
    "LABEL linux",
    `    KERNEL ${kernel}`,
    `    INITRD ${initrd}`,
    ...(append ? [`    APPEND ${append}`] : []),
    "",
  ].join("\n");
}

/** GRUB script metacharacters; a backslash makes each one literal, so the kernel sees the cmdline as written. */
function grubWord(word: string): string {
  return word.replace(/[\\'"$;|&<>(){}#]/g, (c) => `\\${c}`);
}

export function grubConfig(kernel: string, initrd: string, cmdline: string): string {
  const args = [...oneLine(cmdline).split(/\s+/).filter(Boolean).map(grubWord), "text"].join(" ");
  return [
    "set timeout=0",
    "set gfxpayload=text",
    "menuentry 'LinuxKit' {",
    `\tlinux ${kernel} ${args}`,
    `\tinitrd ${initrd}`,
    "}",
    "",
  ].join("\n");
}

/**
 * Built into BOOTX64.EFI: find the filesystem that carries this image's marker file (the ISO, or the
 * disk's ESP, whatever else is attached) and run the grub.cfg beside it.
 */
export function grubEmbeddedConfig(markerPath: string): string {
  return [
    `search --no-floppy --set=root --file ${markerPath}`,
    "set prefix=($root)/EFI/BOOT",
    "configfile $prefix/grub.cfg",
    "",
  ].join("\n");
}
