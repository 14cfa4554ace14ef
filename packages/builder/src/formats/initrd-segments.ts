// The gzip initrd made segment by segment, so each container image's part can come from the piece cache.
//
// The uncompressed bytes are the same single newc archive `writeCpio` makes (inodes count on across
// segments, one trailer at the end). The deflate stream is cut before and after each piece: a keyed segment
// of an image big enough to be worth caching, deflated on its own (no dictionary carried in, a sync flush at
// its end), so its bytes depend only on its key, its first inode and the level, and a cached copy is the
// same bytes a fresh deflate would give. Everything between two pieces is deflated as one run. A build
// with a cold cache and one with a warm cache write the same file.

import { createHash } from "node:crypto";
import type { Segment } from "../assemble/bundles.js";
import type { PieceStore } from "../cache/pieces.js";
import type { FlatEntry } from "../flatten/entry.js";
import {
  type Compression,
  type CompressOptions,
  deflateSegment,
  GZIP_HEADER,
  GZIP_LEVEL,
  gzipTrailer,
  type SegmentSum,
} from "./compress.js";
import { CPIO_FIRST_INODE, type CpioCount, cpioEntries, cpioTrailer } from "./cpio.js";
import { crc32Combine } from "./crc32-combine.js";
import { withoutBoot, writeInitrd } from "./initrd.js";
import { withSink } from "./tar.js";

/** Bumped whenever a piece's bytes would change for the same key (cpio fields, deflate scheme). */
const PIECE_VERSION = 1;

/**
 * Images smaller than this (compressed layers) are not cut out as pieces: they are quick to redo, and
 * cutting the deflate stream around them costs more bytes than caching them saves time.
 */
export const MIN_PIECE_LAYER_BYTES = 1 << 20;

export interface SegmentedInitrdOptions extends CompressOptions {
  /** Where keyed segments are looked up and stored; without it every segment is made afresh. */
  pieces?: PieceStore;
}

async function* flattened(segments: Iterable<Segment>): AsyncGenerator<FlatEntry> {
  for (const s of segments) yield* s.entries();
}

/** The deflate runs: each piece on its own, and everything between two pieces together. */
function* runs(list: readonly Segment[], isPiece: (s: Segment) => boolean) {
  for (let i = 0; i < list.length; ) {
    let end = i + 1;
    if (!isPiece(list[i]!)) while (end < list.length && !isPiece(list[end]!)) end++;
    yield { piece: isPiece(list[i]!), segments: list.slice(i, end) };
    i = end;
  }
}

function pieceId(segmentId: string, firstInode: number, level: number): string {
  return createHash("sha256")
    .update(JSON.stringify({ piece: PIECE_VERSION, segment: segmentId, firstInode, level }))
    .digest("hex");
}

/**
 * Write the initrd of `segments` (everything but `boot/`) to `target`. gzip goes segment by segment,
 * reusing and filling `options.pieces`; the other compressions compress the whole archive in one go.
 */
export async function writeSegmentedInitrd(
  segments: Iterable<Segment>,
  target: string,
  compression: Compression,
  options: SegmentedInitrdOptions = {},
): Promise<void> {
  const { pieces, ...compress } = options;
  if (compression !== "gzip") {
    await writeInitrd(flattened(segments), target, compression, compress);
    return;
  }
  const level = compress.level ?? GZIP_LEVEL;
  const list = [...segments];
  // Where the stream is cut must not depend on whether a store is given: the bytes are the same either way.
  const isPiece = (segment: Segment) =>
    segment.key !== undefined && segment.key.layerBytes >= MIN_PIECE_LAYER_BYTES;
  await withSink(target, async (sink) => {
    await sink(GZIP_HEADER);
    const total: SegmentSum = { crc: 0, length: 0 };
    let inode = CPIO_FIRST_INODE;
    const add = (sum: SegmentSum, entries: number) => {
      total.crc = crc32Combine(total.crc, sum.crc, sum.length);
      total.length += sum.length;
      inode += entries;
    };
    /** Deflate `entries` as one run from the current inode, copying the bytes to `also` as well. */
    const deflateRun = async (entries: AsyncIterable<FlatEntry>, also?: (chunk: Buffer) => Promise<void>) => {
      const count: CpioCount = { entries: 0, bytes: 0 };
      const sum: SegmentSum = { crc: 0, length: 0 };
      const cpio = cpioEntries(withoutBoot(entries), inode, count, compress.signal);
      for await (const chunk of deflateSegment(cpio, sum, false, compress)) {
        await sink(chunk);
        await also?.(chunk);
      }
      return { sum, entries: count.entries };
    };

    for (const run of runs(list, isPiece)) {
      compress.signal?.throwIfAborted();
      const key = run.piece ? run.segments[0]!.key : undefined;
      const id = key && pieces ? pieceId(key.id, inode, level) : undefined;
      const hit = key && id ? await pieces!.open(key.image, id) : undefined;
      if (hit) {
        for await (const chunk of hit.chunks()) await sink(chunk);
        add(hit.meta, hit.meta.entries);
        continue;
      }
      const writer = key && id ? await pieces!.create(key.image, id) : undefined;
      try {
        const done = await deflateRun(flattened(run.segments), writer && ((chunk) => writer.write(chunk)));
        await writer?.commit({ crc: done.sum.crc, length: done.sum.length, entries: done.entries });
        add(done.sum, done.entries);
      } catch (e) {
        await writer?.abort();
        throw e;
      }
    }

    const end: SegmentSum = { crc: 0, length: 0 };
    for await (const chunk of deflateSegment([cpioTrailer(inode, total.length)], end, true, compress))
      await sink(chunk);
    add(end, 0);
    await sink(gzipTrailer(total.crc, total.length));
  });
}
