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

/**
 * The kernel command line as the kernel splits it: at whitespace outside double quotes. The quotes only
 * group (the kernel strips them from `"a b"` and `x="a b"` alike), so they are dropped here.
 */
export function kernelArgs(cmdline: string): string[] {
  const args: string[] = [];
  let current = "";
  let quoted = false;
  let started = false;
  for (const c of oneLine(cmdline)) {
    if (c === '"') {
      quoted = !quoted;
      started = true;
    } else if (!quoted && /\s/.test(c)) {
      if (started) args.push(current);
      current = "";
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

/**
 * One kernel argument as one GRUB word: bare when GRUB would read it literally, else single-quoted
 * (where GRUB expands nothing). GRUB then wraps an argument containing a space in double quotes for the
 * kernel, which reads it as the same parameter and value.
 */
function grubWord(arg: string): string {
  if (arg !== "" && !/[\s\\'"$;|&<>(){}#]/.test(arg)) return arg;
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

export function grubConfig(kernel: string, initrd: string, cmdline: string): string {
  const args = [...kernelArgs(cmdline).map(grubWord), "text"].join(" ");
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
