// What every kiln ISO has in common: Rock Ridge with owners and modes normalised (-r), Joliet, volume
// id LinuxKit as in LinuxKit, and every date (volume, files, boot catalog, isohybrid ids) set to the
// build's time stamp.

import { utcStamp } from "./run-tool.js";

export const ISO_VOLUME_ID = "LinuxKit";

export function isoArgs(target: string, mtime: Date): string[] {
  const epoch = Math.floor(mtime.getTime() / 1000);
  return [
    // -no_rc: no startup file of this machine or user changes the image.
    "-no_rc",
    "-as",
    "mkisofs",
    "-o",
    target,
    "-r",
    "-J",
    "-joliet-long",
    // Level 3 lets a file (an initrd) pass 4 GiB as several extents.
    "-iso-level",
    "3",
    "-V",
    ISO_VOLUME_ID,
    `--modification-date=${utcStamp(mtime)}00`,
    "--set_all_file_dates",
    `=${epoch}`,
  ];
}

/**
 * Grafts `[isoPath, diskPath]` pairs into the ISO and lays their data out in the order given. Without
 * explicit weights libisofs orders file data by the source files' inode numbers, which differ from one
 * build to the next.
 */
export function isoContents(files: ReadonlyArray<readonly [string, string]>): string[] {
  const args = ["-graft-points", ...files.map(([iso, disk]) => `${iso}=${disk}`)];
  files.forEach(([iso], i) => {
    args.push("--sort-weight", String(files.length - i + 2), `/${iso}`);
  });
  return args;
}
