// A newc ("070701") cpio writer, as the kernel's initramfs unpacker reads it. Field values follow the
// gocpio writer LinuxKit uses (inodes from 721, nlink 2 for directories, dev 3:1, archive padded to 512
// bytes), so for the same entries the uncompressed archive is LinuxKit's, byte for byte.

import { posix } from "node:path";
import { KilnError } from "@kiln/spec";
import type { Entry, FlatEntry } from "../flatten/entry.js";

const TYPE_BITS: Record<Entry["type"], number> = {
  fifo: 0o010000,
  "character-device": 0o020000,
  directory: 0o040000,
  "block-device": 0o060000,
  file: 0o100000,
  // Hard links are written as relative symlinks, as LinuxKit does (see `cpioLink`).
  link: 0o120000,
  symlink: 0o120000,
};

const MAX_FIELD = 0xffffffff;
const TRAILER = "TRAILER!!!";
const FIRST_INODE = 721;
const BATCH = 256 * 1024;

const hex = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/**
 * A hard link's target as a symlink relative to the link's directory. newc can hold hard links, but
 * LinuxKit's initrd has always turned them into relative symlinks (so every copy has its data, and links
 * keep working when a bundle's rootfs is bind-mounted elsewhere); kiln keeps that behaviour.
 */
export function cpioLink(path: string, target: string): string {
  return posix.relative(`/${posix.dirname(path)}`, `/${target}`);
}

function tooBig(entry: Entry): KilnError {
  const gib = (entry.size / 2 ** 30).toFixed(1);
  return new KilnError(
    `"/${entry.path}" is ${gib} GiB; an initrd (newc cpio) cannot hold a file of 4 GiB or more`,
    {
      hint: "make the file smaller, or build a disk or ISO format (e.g. -f iso-efi, raw-efi, qcow2-efi) instead",
    },
  );
}

function header(ino: number, entry: Entry, size: number, name: string): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const mtime = Math.min(Math.max(Math.floor(entry.mtime.getTime() / 1000), 0), MAX_FIELD);
  const fields = [
    ino,
    TYPE_BITS[entry.type] | (entry.mode & 0o7777),
    entry.uid,
    entry.gid,
    entry.type === "directory" ? 2 : 1,
    mtime,
    size,
    3,
    1,
    entry.devmajor ?? 0,
    entry.devminor ?? 0,
    nameBytes.length + 1,
    0,
  ];
  const text = `070701${fields.map(hex).join("")}`;
  const head = Buffer.alloc(text.length + nameBytes.length + 1 + pad4(text.length + nameBytes.length + 1));
  head.write(text, 0, "latin1");
  nameBytes.copy(head, text.length);
  return head;
}

/** How many entries and bytes a run of cpio entries held. */
export interface CpioCount {
  entries: number;
  bytes: number;
}

/**
 * `entries` as newc cpio entries, inodes counting up from `firstInode`, as chunks, with no trailer. Every
 * entry ends on a 4-byte boundary, so a run's bytes do not depend on where in the archive it goes. File
 * bodies are streamed through; every body is consumed. A file of 4 GiB or more is refused before any of
 * it is read. `count` is filled in as entries go by.
 */
export async function* cpioEntries(
  entries: AsyncIterable<FlatEntry>,
  firstInode: number,
  count: CpioCount,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  let ino = firstInode;
  let batch: Buffer[] = [];
  let batched = 0;
  const push = function* (b: Buffer): Generator<Buffer> {
    count.bytes += b.length;
    if (b.length >= BATCH) {
      if (batched > 0) yield Buffer.concat(batch);
      batch = [];
      batched = 0;
      yield b;
      return;
    }
    batch.push(b);
    batched += b.length;
    if (batched >= BATCH) {
      yield Buffer.concat(batch);
      batch = [];
      batched = 0;
    }
  };
  const next = () => {
    count.entries++;
    return ino++;
  };

  for await (const { entry, body } of entries) {
    signal?.throwIfAborted();
    if (entry.uid > MAX_FIELD || entry.gid > MAX_FIELD) {
      throw new KilnError(`"/${entry.path}": uid/gid ${entry.uid}/${entry.gid} does not fit in an initrd`);
    }
    if (entry.type === "symlink" || entry.type === "link") {
      const target = Buffer.from(
        entry.type === "link" ? cpioLink(entry.path, entry.linkname!) : entry.linkname!,
      );
      yield* push(header(next(), entry, target.length, entry.path));
      yield* push(Buffer.concat([target, Buffer.alloc(pad4(target.length))]));
      continue;
    }
    if (entry.type !== "file") {
      yield* push(header(next(), entry, 0, entry.path));
      continue;
    }
    if (entry.size > MAX_FIELD) throw tooBig(entry);
    yield* push(header(next(), entry, entry.size, entry.path));
    let got = 0;
    if (body !== undefined) {
      for await (const chunk of body) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        got += b.length;
        if (got > entry.size) break;
        yield* push(b);
      }
    }
    if (got !== entry.size) {
      throw new KilnError(`"/${entry.path}": expected ${entry.size} bytes of contents, got ${got}`, {
        hint: "a source changed or is corrupt while the initrd was being written; try again",
      });
    }
    yield* push(Buffer.alloc(pad4(entry.size)));
  }
  if (batched > 0) yield Buffer.concat(batch);
}

/** The archive's end after `before` bytes of entries: the trailer with inode `ino`, padded to 512 bytes. */
export function cpioTrailer(ino: number, before: number): Buffer {
  const trailer: Entry = {
    path: TRAILER,
    type: "file",
    mode: 0,
    uid: 0,
    gid: 0,
    mtime: new Date(0),
    size: 0,
  };
  const end = header(ino, trailer, 0, TRAILER);
  // gocpio's trailer has no type bits: mode 0.
  end.write("00000000", 6 + 8, "latin1");
  return Buffer.concat([end, Buffer.alloc((512 - ((before + end.length) % 512)) % 512)]);
}

/** The first inode of an archive, as gocpio numbers them. */
export const CPIO_FIRST_INODE = FIRST_INODE;

/**
 * The newc cpio of `entries`, as chunks: the entries from `CPIO_FIRST_INODE`, then the trailer, padded to
 * 512 bytes.
 */
export async function* writeCpio(
  entries: AsyncIterable<FlatEntry>,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const count: CpioCount = { entries: 0, bytes: 0 };
  yield* cpioEntries(entries, FIRST_INODE, count, signal);
  yield cpioTrailer(FIRST_INODE + count.entries, count.bytes);
}
