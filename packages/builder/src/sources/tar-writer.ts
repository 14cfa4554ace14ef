// A small, deterministic tar writer: ustar headers, with PAX records whenever a field does not fit or
// is not ASCII. Extended attributes are written as raw `SCHILY.xattr.*` bytes, which tar-stream's
// packer cannot do (it writes PAX values as text), so security.capability survives an export.

import type { Readable } from "node:stream";
import { KilnError } from "@kiln/spec";
import type { Entry } from "../flatten/entry.js";

const BLOCK = 512;
const TYPEFLAG: Record<Entry["type"], string> = {
  file: "0",
  link: "1",
  symlink: "2",
  "character-device": "3",
  "block-device": "4",
  directory: "5",
  fifo: "6",
};

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

/** `width` bytes: octal digits, zero-padded, then a NUL. Undefined when the value does not fit. */
function octal(n: number, width: number): string | undefined {
  if (!Number.isInteger(n) || n < 0 || n >= 8 ** (width - 1)) return undefined;
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

/** ustar's name + prefix split of an ASCII path, if it has one. */
function splitName(name: string): { name: string; prefix: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { name, prefix: "" };
  // The prefix ends at a slash, and the name after it must fit in 100 bytes.
  for (let i = name.indexOf("/"); i !== -1 && i <= 155; i = name.indexOf("/", i + 1)) {
    if (name.length - i - 1 <= 100 && name.length - i - 1 > 0)
      return { name: name.slice(i + 1), prefix: name.slice(0, i) };
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function ustar(fields: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(fields.name, 0, 100, "utf8");
  b.write(octal(fields.mode, 8) ?? "0000000\0", 100, "latin1");
  b.write(octal(fields.uid, 8) ?? "0000000\0", 108, "latin1");
  b.write(octal(fields.gid, 8) ?? "0000000\0", 116, "latin1");
  b.write(octal(fields.size, 12) ?? "00000000000\0", 124, "latin1");
  b.write(octal(fields.mtime, 12) ?? "00000000000\0", 136, "latin1");
  b.write("        ", 148, "latin1");
  b.write(fields.typeflag, 156, "latin1");
  b.write(fields.linkname, 157, 100, "utf8");
  b.write("ustar\u000000", 257, "latin1");
  b.write(fields.uname, 265, 32, "utf8");
  b.write(fields.gname, 297, 32, "utf8");
  b.write(octal(fields.devmajor, 8) ?? "0000000\0", 329, "latin1");
  b.write(octal(fields.devminor, 8) ?? "0000000\0", 337, "latin1");
  b.write(fields.prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return b;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** The header blocks of one entry: a PAX header when needed, then the ustar header. */
export function encodeHeader(entry: Entry): Buffer {
  const path = entry.type === "directory" ? `${entry.path}/` : entry.path;
  const records: Buffer[] = [];
  const text = (key: string, value: string) => records.push(paxRecord(key, Buffer.from(value, "utf8")));
  const split = splitName(path);
  if (!split) text("path", path);
  const linkname = entry.linkname ?? "";
  const linkFits = isAscii(linkname) && linkname.length <= 100;
  if (!linkFits) text("linkpath", linkname);
  const size = entry.type === "file" ? entry.size : 0;
  if (octal(size, 12) === undefined) text("size", String(size));
  if (octal(entry.uid, 8) === undefined) text("uid", String(entry.uid));
  if (octal(entry.gid, 8) === undefined) text("gid", String(entry.gid));
  const uname = entry.uname ?? "";
  const gname = entry.gname ?? "";
  if (!isAscii(uname) || uname.length > 32) text("uname", uname);
  if (!isAscii(gname) || gname.length > 32) text("gname", gname);
  const seconds = Math.floor(entry.mtime.getTime() / 1000);
  if (octal(seconds, 12) === undefined) text("mtime", String(seconds));
  for (const key of Object.keys(entry.pax ?? {}).sort()) text(key, entry.pax![key]!);
  for (const key of Object.keys(entry.xattrs ?? {}).sort())
    records.push(paxRecord(`SCHILY.xattr.${key}`, entry.xattrs![key]!));

  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.concat(records);
    const base = path.split("/").filter(Boolean).pop() ?? "entry";
    blocks.push(
      ustar({
        name: `PaxHeaders/${isAscii(base) ? base : "entry"}`.slice(0, 100),
        prefix: "",
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: pax.length,
        mtime: Math.max(0, Math.min(seconds, 8 ** 11 - 1)),
        typeflag: "x",
        linkname: "",
        uname: "",
        gname: "",
        devmajor: 0,
        devminor: 0,
      }),
      pax,
      padding(pax.length),
    );
  }
  blocks.push(
    ustar({
      name: split
        ? split.name
        : [...path]
            .map((c) => (isAscii(c) ? c : "_"))
            .join("")
            .slice(-100),
      prefix: split ? split.prefix : "",
      mode: entry.mode & 0o7777,
      uid: entry.uid,
      gid: entry.gid,
      size,
      mtime: Math.max(0, seconds),
      typeflag: TYPEFLAG[entry.type],
      linkname: linkFits ? linkname : "",
      uname: isAscii(uname) && uname.length <= 32 ? uname : "",
      gname: isAscii(gname) && gname.length <= 32 ? gname : "",
      devmajor: entry.devmajor ?? 0,
      devminor: entry.devminor ?? 0,
    }),
  );
  return Buffer.concat(blocks);
}

/** Where a TarWriter's bytes go; each call resolves once the chunk may be reused. */
export type ChunkSink = (chunk: Buffer) => Promise<void>;

// Headers are small; gathering them saves a write call per entry on trees of many small files.
const BATCH = 256 * 1024;

/** Writes entries in the order it is given them, and nothing else: deterministic in, deterministic out. */
export class TarWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly sink: ChunkSink) {}

  private async push(chunk: Buffer): Promise<void> {
    if (chunk.length >= BATCH) {
      await this.flush();
      await this.sink(chunk);
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.sink(chunk);
  }

  /** Add one entry; a file's body must carry exactly `entry.size` bytes. */
  async add(entry: Entry, body?: Buffer | Readable | AsyncIterable<Uint8Array>): Promise<void> {
    await this.push(encodeHeader(entry));
    if (entry.type !== "file") return;
    let written = 0;
    if (body !== undefined) {
      const chunks = Buffer.isBuffer(body) ? [body] : body;
      for await (const chunk of chunks) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        written += buf.length;
        if (written > entry.size) break;
        await this.push(buf);
      }
    }
    if (written !== entry.size) {
      throw new KilnError(`${entry.path}: expected ${entry.size} bytes of contents, got ${written}`, {
        hint: "the source changed or is corrupt while it was being written; try again",
      });
    }
    await this.push(padding(entry.size));
  }

  /** The two zero blocks that end an archive, and everything still held back. */
  async finish(): Promise<void> {
    await this.push(Buffer.alloc(2 * BLOCK));
    await this.flush();
  }
}
