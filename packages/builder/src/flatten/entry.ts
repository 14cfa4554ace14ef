// The entry: what flattening, assembly and the tar and cpio writers all speak.

import type { Readable } from "node:stream";

export type EntryType =
  | "file"
  | "directory"
  | "symlink"
  | "link"
  | "character-device"
  | "block-device"
  | "fifo";

/** One filesystem object, without its contents. */
export interface Entry {
  /** Relative, POSIX, normalised: no leading "/", no trailing "/", no "." or ".." components, never empty. */
  path: string;
  type: EntryType;
  /** Permission bits, setuid, setgid and sticky included; never the file-type bits. */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  mtime: Date;
  /** Bytes of contents: the body's length for files, 0 for everything else. */
  size: number;
  /** Symlinks: the target exactly as written. Hardlinks ("link"): the normalised path of the target entry. */
  linkname?: string;
  /** Character and block devices. */
  devmajor?: number;
  devminor?: number;
  /**
   * Extended attributes, name → raw value (e.g. "user.x", "security.capability"). Kept as bytes because values
   * such as security.capability are binary. In a PAX tar they are the `SCHILY.xattr.NAME` records.
   */
  xattrs?: Record<string, Buffer>;
  /**
   * Other PAX records worth keeping, as text. The ones that map onto the fields above (path, linkpath, size,
   * uid, gid, uname, gname, mtime), the xattrs, and per-archive noise (atime, ctime, SCHILY.dev/ino/nlink)
   * are not repeated here.
   */
  pax?: Record<string, string>;
  /**
   * Set on a directory flattening made up because a layer left it out (root's, 0755, time 0). Such a directory
   * stands in for nothing the image says, so a merge may drop it where something real is already there. Not
   * part of the filesystem: writers ignore it.
   */
  synthetic?: true;
}

/**
 * An entry as a stream hands it out. `body` is there exactly when `entry.type === "file"`, and carries
 * `entry.size` bytes. Streams that yield these want each body consumed (read to the end, piped, or just
 * `resume()`d) before the next entry is pulled; see `flattenLayers` for what happens if it is not.
 */
export interface FlatEntry {
  entry: Entry;
  body?: Readable;
}
