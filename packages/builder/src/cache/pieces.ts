// Cached initrd pieces: what one image's unpacked root filesystem became in an earlier initrd (its newc
// cpio entries, deflated as an independent segment), so a later build that holds the same image at the
// same place copies the bytes instead of decompressing the image's layers and deflating them again.
//
// A piece file is a 64-byte header and the deflate bytes: magic, CRC-32, entry count and length of the
// uncompressed cpio, and the SHA-256 of the deflate bytes, which is checked before every use. Files are
// named after the image's manifest digest, so `kiln cache gc` can drop the pieces of images that are gone.

import { createHash } from "node:crypto";
import { type FileHandle, mkdir, open, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { commitTemp, tempPathFor } from "./atomic.js";
import { fileChunks, fileSha256 } from "./file-sha256.js";
import { imageEntryName, pruneImageEntries } from "./image-entries.js";

const MAGIC = Buffer.from("KILNPC01", "latin1");
const HEADER = 64;

export interface PieceMeta {
  /** CRC-32 of the uncompressed cpio bytes. */
  crc: number;
  /** Length of the uncompressed cpio bytes. */
  length: number;
  /** cpio entries, so the next piece knows its first inode. */
  entries: number;
}

export interface Piece {
  meta: PieceMeta;
  /** The deflate bytes, in chunks of one reused buffer (see `fileChunks`): write each before the next. */
  chunks(): AsyncIterable<Buffer>;
}

export interface PieceWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Put the piece in place under its name; readers see it whole or not at all. */
  commit(meta: PieceMeta): Promise<void>;
  /** Drop what was written. */
  abort(): Promise<void>;
}

function encodeHeader(meta: PieceMeta, sha256: Buffer): Buffer {
  const h = Buffer.alloc(HEADER);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(meta.crc >>> 0, 8);
  h.writeUInt32LE(meta.entries, 12);
  h.writeBigUInt64LE(BigInt(meta.length), 16);
  sha256.copy(h, 24);
  return h;
}

async function readHeader(fh: FileHandle): Promise<{ meta: PieceMeta; sha256: Buffer } | undefined> {
  const h = Buffer.alloc(HEADER);
  const { bytesRead } = await fh.read(h, 0, HEADER, 0);
  if (bytesRead !== HEADER || !h.subarray(0, 8).equals(MAGIC)) return undefined;
  return {
    meta: { crc: h.readUInt32LE(8), entries: h.readUInt32LE(12), length: Number(h.readBigUInt64LE(16)) },
    sha256: Buffer.from(h.subarray(24, 56)),
  };
}

export class PieceStore {
  constructor(readonly dir: string) {}

  private path(image: string, id: string): string {
    return join(this.dir, imageEntryName(image, `${id}.piece`));
  }

  /** The piece, if there is one and its bytes match its digest; a damaged piece is removed. */
  async open(image: string, id: string): Promise<Piece | undefined> {
    const path = this.path(image, id);
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch {
      return undefined;
    }
    let header: Awaited<ReturnType<typeof readHeader>>;
    try {
      header = await readHeader(fh);
      if (header) {
        if ((await fileSha256(path, HEADER)) !== header.sha256.toString("hex")) header = undefined;
      }
    } finally {
      await fh.close();
    }
    if (!header) {
      await rm(path, { force: true });
      return undefined;
    }
    // Its time stamp says when it was last used, for `prune`.
    const now = new Date();
    await utimes(path, now, now).catch(() => {});
    const { meta } = header;
    return {
      meta,
      chunks: () => fileChunks(path, HEADER),
    };
  }

  async create(image: string, id: string): Promise<PieceWriter> {
    await mkdir(this.dir, { recursive: true });
    const target = this.path(image, id);
    const tmp = tempPathFor(target);
    const fh = await open(tmp, "wx", 0o644);
    const hash = createHash("sha256");
    let position = HEADER;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await fh.close();
    };
    return {
      write: async (chunk) => {
        hash.update(chunk);
        let offset = 0;
        while (offset < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset, position);
          offset += bytesWritten;
          position += bytesWritten;
        }
      },
      commit: async (meta) => {
        try {
          await fh.write(encodeHeader(meta, hash.digest()), 0, HEADER, 0);
          await fh.sync();
          await close();
        } catch (e) {
          await close().catch(() => {});
          await rm(tmp, { force: true });
          throw e;
        }
        await commitTemp(tmp, target);
      },
      abort: async () => {
        await close().catch(() => {});
        await rm(tmp, { force: true });
      },
    };
  }

  /**
   * Remove pieces of images not in `keep` (manifest digests), and pieces unused for `maxAgeMs` (two weeks).
   * Pieces younger than `graceMs` stay: a build may be writing the image's first pieces right now.
   */
  prune(
    keep: ReadonlySet<string>,
    o: { now?: number; maxAgeMs?: number; graceMs?: number } = {},
  ): Promise<{ removed: number; bytes: number }> {
    return pruneImageEntries(this.dir, keep, { maxAgeMs: 14 * 24 * 3600_000, ...o, suffix: ".piece" });
  }
}
