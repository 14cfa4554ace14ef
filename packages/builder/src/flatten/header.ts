// One tar header, read as a layer means it: an entry, a whiteout, an opaque marker, or nothing to keep.

import type { Header } from "tar-stream";
import type { Entry, EntryType } from "./entry.js";
import { layerError } from "./layer-error.js";
import { normaliseLayerPath, normaliseLinkTarget, symlinkEscapes } from "./safe-path.js";

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
/** aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs, ...): never part of the image. */
const AUFS_META_PREFIX = ".wh..wh.";

export type LayerItem =
  | { kind: "entry"; entry: Entry }
  /** Deletes `path` (and everything under it) from the layers below. */
  | { kind: "whiteout"; path: string }
  /** Hides everything the layers below have under the directory `path` ("" is the root). */
  | { kind: "opaque"; path: string }
  /** The root directory itself, or aufs metadata: nothing to emit. */
  | { kind: "skip" };

const TYPES: Record<string, EntryType> = {
  file: "file",
  "contiguous-file": "file",
  directory: "directory",
  symlink: "symlink",
  link: "link",
  "character-device": "character-device",
  "block-device": "block-device",
  fifo: "fifo",
};

/** Records that become Entry fields, or that only describe this one archive. */
const NOT_KEPT = new Set([
  "path",
  "linkpath",
  "size",
  "uid",
  "gid",
  "uname",
  "gname",
  "mtime",
  "atime",
  "ctime",
  "hdrcharset",
  "SCHILY.dev",
  "SCHILY.ino",
  "SCHILY.nlink",
  "LIBARCHIVE.creationtime",
]);

/** `LEN KEY=VALUE\n` records, values kept as bytes. Lenient, like tar-stream: stops at the first bad record. */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < buf.length) {
    const space = buf.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(buf.toString("latin1", offset, space), 10);
    if (!(length > 0) || offset + length > buf.length || space + 1 > offset + length - 1) break;
    const record = buf.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals === -1) break;
    records.set(record.toString("utf8", 0, equals), Buffer.from(record.subarray(equals + 1)));
    offset += length;
  }
  return records;
}

function paxRecords(header: Header, paxRaw: Buffer | undefined): Map<string, Buffer> {
  if (paxRaw !== undefined) return parsePaxRecords(paxRaw);
  const decoded = (header as { pax?: Record<string, string> | null }).pax;
  return new Map(Object.entries(decoded ?? {}).map(([k, v]) => [k, Buffer.from(v, "utf8")]));
}

function decimal(value: Buffer | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.toString("latin1"));
  return Number.isFinite(n) ? n : fallback;
}

function unescapeName(escaped: string): string | undefined {
  try {
    return decodeURIComponent(escaped);
  } catch {
    return undefined;
  }
}

/** Apply PAX records to the entry: fields, xattrs, and the rest kept as text. */
function applyPax(entry: Entry, records: Map<string, Buffer>, digest: string): void {
  if (records.size === 0) return;
  entry.uid = decimal(records.get("uid"), entry.uid);
  entry.gid = decimal(records.get("gid"), entry.gid);
  const uname = records.get("uname")?.toString("utf8");
  const gname = records.get("gname")?.toString("utf8");
  if (uname) entry.uname = uname;
  if (gname) entry.gname = gname;
  const mtime = records.get("mtime");
  if (mtime !== undefined) entry.mtime = new Date(decimal(mtime, entry.mtime.getTime() / 1000) * 1000);

  const xattrs: Record<string, Buffer> = {};
  const pax: Record<string, string> = {};
  for (const [key, value] of records) {
    if (key.startsWith("GNU.sparse.")) {
      throw layerError(
        digest,
        `entry "${entry.path}" is a GNU sparse file, which kiln cannot read`,
        "rebuild the image without sparse files (GNU tar --sparse)",
      );
    }
    if (key.startsWith("SCHILY.xattr.")) {
      xattrs[key.slice("SCHILY.xattr.".length)] = value;
    } else if (key.startsWith("LIBARCHIVE.xattr.")) {
      // bsdtar writes each xattr twice, also as a %-escaped name and a base64 value; SCHILY's wins.
      const name = unescapeName(key.slice("LIBARCHIVE.xattr.".length));
      if (name !== undefined) xattrs[name] ??= Buffer.from(value.toString("latin1"), "base64");
    } else if (!NOT_KEPT.has(key)) {
      pax[key] = value.toString("utf8");
    }
  }
  if (Object.keys(xattrs).length > 0) entry.xattrs = xattrs;
  if (Object.keys(pax).length > 0) entry.pax = pax;
}

function toEntry(path: string, header: Header, paxRaw: Buffer | undefined, digest: string): Entry {
  const type = header.type ? TYPES[header.type] : undefined;
  if (type === undefined) {
    throw layerError(
      digest,
      `entry "${path}" has a tar type kiln does not support (${header.type ?? "unknown typeflag"})`,
    );
  }
  const entry: Entry = {
    path,
    type,
    mode: (header.mode ?? 0) & 0o7777,
    uid: header.uid ?? 0,
    gid: header.gid ?? 0,
    mtime: header.mtime ?? new Date(0),
    size: type === "file" ? (header.size ?? 0) : 0,
  };
  if (header.uname) entry.uname = header.uname;
  if (header.gname) entry.gname = header.gname;
  const linkname = header.linkname ?? "";
  if (type === "link") {
    entry.linkname = normaliseLinkTarget(path, linkname, digest);
    if (entry.linkname === path) throw layerError(digest, `hardlink "${path}" links to itself`);
  } else if (type === "symlink") {
    if (linkname === "") throw layerError(digest, `symlink "${path}" has an empty target`);
    if (symlinkEscapes(path, linkname)) {
      throw layerError(
        digest,
        `symlink "${path}" → ${JSON.stringify(linkname)} climbs out of the image root`,
      );
    }
    entry.linkname = linkname;
  } else if (type === "character-device" || type === "block-device") {
    entry.devmajor = header.devmajor ?? 0;
    entry.devminor = header.devminor ?? 0;
  }
  applyPax(entry, paxRecords(header, paxRaw), digest);
  return entry;
}

/** Classify and check one header of the layer `digest`. Throws a KilnError for anything hostile or unreadable. */
export function readHeader(header: Header, paxRaw: Buffer | undefined, digest: string): LayerItem {
  const path = normaliseLayerPath(header.name, digest);
  if (path === "") {
    if (header.type === "directory") return { kind: "skip" };
    throw layerError(
      digest,
      `entry ${JSON.stringify(header.name)} replaces the image root with a ${header.type}`,
    );
  }
  const slash = path.lastIndexOf("/");
  const parent = slash === -1 ? "" : path.slice(0, slash);
  const base = path.slice(slash + 1);
  if (base === OPAQUE_MARKER) return { kind: "opaque", path: parent };
  if (path.split("/").some((part) => part.startsWith(AUFS_META_PREFIX))) return { kind: "skip" };
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === "" || name === "." || name === "..") {
      throw layerError(digest, `whiteout "${path}" names no valid entry`);
    }
    return { kind: "whiteout", path: parent === "" ? name : `${parent}/${name}` };
  }
  return { kind: "entry", entry: toEntry(path, header, paxRaw, digest) };
}
