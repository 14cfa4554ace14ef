// An initrd (kernel+initrd's NAME-initrd.img) read into a tree the oracle can compare: newc cpio archives,
// each plain or gzip'd, one after another (a microcode cpio may come first, uncompressed), as the kernel reads them.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import type { TreeEntry } from "./oracle-tar.js";

/** The entry type of a cpio mode's file-type bits, named as tar-stream names them. */
function typeOf(mode: number): string {
  switch (mode & 0o170000) {
    case 0o140000:
      return "socket";
    case 0o120000:
      return "symlink";
    case 0o100000:
      return "file";
    case 0o060000:
      return "block-device";
    case 0o040000:
      return "directory";
    case 0o020000:
      return "character-device";
    case 0o010000:
      return "fifo";
    default:
      return "unknown";
  }
}

export interface CpioView {
  /** The last entry for each path, as the kernel leaves it. */
  tree: Map<string, TreeEntry>;
  /** How many archives (cpio segments) the file holds, e.g. 2 with a microcode prefix. */
  archives: number;
  entries: number;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Parse the newc archives in `data` (already decompressed) into `tree`; returns the offset after the trailer. */
function parseNewc(
  data: Buffer,
  start: number,
  tree: Map<string, TreeEntry>,
): { end: number; count: number } {
  let off = start;
  let count = 0;
  for (;;) {
    const magic = data.toString("latin1", off, off + 6);
    if (magic !== "070701" && magic !== "070702")
      throw new Error(`bad cpio magic ${JSON.stringify(magic)} at ${off}`);
    const field = (i: number) =>
      Number.parseInt(data.toString("latin1", off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const uid = field(2);
    const gid = field(3);
    const mtime = field(5);
    const size = field(6);
    const rdevmajor = field(9);
    const rdevminor = field(10);
    const namesize = field(11);
    const nameStart = off + 110;
    const name = data.toString("utf8", nameStart, nameStart + namesize - 1);
    let body = nameStart + namesize;
    body += pad4(body);
    off = body + size + pad4(body + size);
    if (name === "TRAILER!!!") return { end: off, count };
    count++;
    const content = data.subarray(body, body + size);
    const type = typeOf(mode);
    const path = name.replace(/^\.?\/+/, "").replace(/\/+$/, "");
    if (path === "" || path === ".") continue;
    const e: TreeEntry = {
      path,
      type,
      mode: mode & 0o7777,
      uid,
      gid,
      uname: "",
      gname: "",
      mtime,
      size: type === "file" ? size : 0,
      pax: {},
      rawName: name,
    };
    if (type === "symlink") e.linkname = content.toString("utf8");
    if (type === "file") e.sha256 = createHash("sha256").update(content).digest("hex");
    if (type === "block-device" || type === "character-device") {
      e.devmajor = rdevmajor;
      e.devminor = rdevminor;
    }
    tree.set(path, e);
  }
}

/** Read an initrd: concatenated newc archives, each plain or gzip'd, with zero padding between them. */
export async function readInitrd(file: string): Promise<CpioView> {
  const view: CpioView = { tree: new Map(), archives: 0, entries: 0 };
  walk(await readFile(file), view, true);
  return view;
}

function walk(data: Buffer, view: CpioView, allowGzip: boolean): void {
  let off = 0;
  while (off < data.length) {
    if (data[off] === 0) {
      off++;
      continue;
    }
    if (allowGzip && data[off] === 0x1f && data[off + 1] === 0x8b) {
      // gunzip reads every member of a multi-member stream, so a compressed part runs to the end.
      walk(gunzipSync(data.subarray(off)), view, false);
      return;
    }
    const r = parseNewc(data, off, view.tree);
    view.archives++;
    view.entries += r.count;
    off = r.end;
  }
}
