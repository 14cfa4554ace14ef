// Compressors for the initrd, as streams of bytes in and out.
//
// gzip is pigz's scheme, in-process: the input is cut into fixed 1 MiB blocks, each block is deflated with
// the previous block's last 32 KiB as its dictionary and ends with a sync flush, and the pieces are joined
// into one deflate stream in one gzip member. The blocks are deflated by zlib on libuv's thread pool, so
// they use every core without a worker thread (and its own JavaScript heap) per core. The bytes depend on
// the input, the level and zlib only, never on how many blocks were in flight.
//
// A deflate stream may also be made of independent segments: each starts without a dictionary and ends
// with a sync flush, so a segment's bytes depend on its own input only and can be cached and joined to
// others (the initrd does this per container image, see initrd-segments.ts).
// zstd and xz run the system tools with flags whose output does not depend on the core count either.

import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { constants, crc32, deflateRaw, type ZlibOptions } from "node:zlib";
import { KilnError } from "@kiln/spec";

export type Compression = "gzip" | "zstd" | "xz" | "none";
export const COMPRESSIONS: readonly Compression[] = ["gzip", "zstd", "xz", "none"];

export interface CompressOptions {
  /** Blocks deflated at once for gzip (default: every core). The output is the same for any count. */
  workers?: number;
  /** gzip level, 1-9 (default GZIP_LEVEL). */
  level?: number;
  signal?: AbortSignal;
}

/**
 * 5, not zlib's 6: a quarter less deflate time for 0.5 % more bytes, and the initrd stays ~3 % smaller than
 * LinuxKit's (pgzip at its default level) on the MinIO and the minimal appliance. Level 4 would save as much
 * again but come within 1 % of LinuxKit's size.
 */
export const GZIP_LEVEL = 5;
const BLOCK = 1 << 20;
const WINDOW = 32 * 1024;
// 1f 8b, deflate, no flags, mtime 0, no extra flags, OS "unix": fixed, so the output is reproducible.
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

/** The gzip member's end: CRC-32 and length (mod 2^32) of the uncompressed bytes. */
export function gzipTrailer(crc: number, length: number): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  return trailer;
}

function deflateBlock(data: Uint8Array, dictionary: Uint8Array | undefined, level: number, last: boolean) {
  const options: ZlibOptions = {
    level,
    finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
  };
  if (dictionary) options.dictionary = dictionary;
  return new Promise<Buffer>((resolve, reject) =>
    deflateRaw(data, options, (e, out) => (e ? reject(new Error(`gzip: ${e.message}`)) : resolve(out))),
  );
}

/** What a deflated segment held: the CRC-32 and length of its uncompressed bytes. */
export interface SegmentSum {
  crc: number;
  length: number;
}

/**
 * Raw deflate of `source` as one independent segment: no dictionary at its start, a sync flush at its end
 * (or the final block when `last`), blocks deflated in parallel. `sum` is filled in as bytes go by. An
 * empty source gives no bytes unless it is the last segment.
 */
export async function* deflateSegment(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sum: SegmentSum,
  last: boolean,
  options: CompressOptions = {},
): AsyncGenerator<Buffer> {
  // One block more than cores keeps them busy; more would take every pool thread and leave the layer
  // inflates and file reads feeding this deflate queued behind it.
  const inFlight = Math.max(1, options.workers ?? availableParallelism()) + 1;
  const level = options.level ?? GZIP_LEVEL;
  const pending: Array<Promise<Buffer>> = [];
  let dictionary: Uint8Array | undefined;
  let held: Uint8Array[] = [];
  let heldBytes = 0;

  const submit = (view: Uint8Array, final: boolean): void => {
    // An owned copy: zlib reads it on another thread while the source may reuse its memory.
    const block = Buffer.from(view);
    sum.crc = crc32(block, sum.crc);
    sum.length += block.length;
    const job = deflateBlock(block, dictionary, level, final);
    job.catch(() => {}); // awaited in order below; this only keeps an early failure from going unhandled
    pending.push(job);
    dictionary =
      block.length >= WINDOW
        ? block.subarray(block.length - WINDOW)
        : Buffer.concat([dictionary ?? new Uint8Array(0), block]).subarray(-WINDOW);
  };

  try {
    for await (const chunk of source) {
      options.signal?.throwIfAborted();
      if (chunk.length === 0) continue;
      held.push(chunk);
      heldBytes += chunk.length;
      while (heldBytes >= BLOCK) {
        const all = held.length === 1 ? held[0]! : Buffer.concat(held);
        submit(all.subarray(0, BLOCK), false);
        const rest = all.subarray(BLOCK);
        held = rest.length > 0 ? [rest] : [];
        heldBytes = rest.length;
        while (pending.length >= inFlight) yield await pending.shift()!;
      }
    }
    if (heldBytes > 0 || last) submit(held.length === 1 ? held[0]! : Buffer.concat(held), last);
    held = [];
    while (pending.length > 0) yield await pending.shift()!;
  } finally {
    // Let blocks still in flight finish, so none writes into a stream that is gone.
    await Promise.allSettled(pending);
  }
}

/** Gzip `source` on every core, pigz-style, with bytes that do not depend on the number of workers. */
export async function* gzipParallel(
  source: AsyncIterable<Uint8Array>,
  options: CompressOptions = {},
): AsyncGenerator<Buffer> {
  const sum: SegmentSum = { crc: 0, length: 0 };
  yield GZIP_HEADER;
  yield* deflateSegment(source, sum, true, options);
  yield gzipTrailer(sum.crc, sum.length);
}

const TOOL_ARGS: Record<"zstd" | "xz", (cores: number) => string[]> = {
  // zstd's multi-threaded output is the same for any -T >= 1.
  zstd: () => ["-q", "-c", "-T0", "-9"],
  // The kernel's xz decoder wants CRC32 checks. xz's threaded mode with a fixed block size gives the same
  // bytes for any thread count >= 2, so at least 2 are asked for even on one core.
  xz: (cores) => [
    "-q",
    "-c",
    `--threads=${Math.max(2, cores)}`,
    "--block-size=8MiB",
    "--check=crc32",
    "--lzma2=preset=6,dict=1MiB",
  ],
};

/** Resolves once `stream` has room again (its "drain"), or rejects if it fails first. */
export function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      stream.off("error", fail);
      resolve();
    };
    const fail = (e: Error) => {
      stream.off("drain", done);
      reject(e);
    };
    stream.once("drain", done);
    stream.once("error", fail);
  });
}

/** Pipe `source` through `zstd` or `xz`. A missing tool is a KilnError naming its package. */
async function* throughTool(
  tool: "zstd" | "xz",
  source: AsyncIterable<Uint8Array>,
  options: CompressOptions,
): AsyncGenerator<Buffer> {
  const child = spawn(tool, TOOL_ARGS[tool](availableParallelism()), { stdio: ["pipe", "pipe", "pipe"] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    const pkg = tool === "xz" ? "xz-utils" : "zstd";
    throw new KilnError(
      missing
        ? `--compression ${tool} needs the ${tool} command, which is not installed`
        : `cannot run ${tool}: ${(err as Error).message}`,
      { hint: `install it (apt-get install ${pkg}), or use --compression gzip`, cause: err },
    );
  }
  child.on("error", () => {});
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  // Feed stdin while stdout is read below; a failure here surfaces as a broken stdout or exit code.
  let feedError: unknown;
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        options.signal?.throwIfAborted();
        if (!child.stdin.write(chunk)) await drained(child.stdin);
      }
      child.stdin.end();
    } catch (e) {
      feedError = e;
      child.kill();
    }
  })();
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    await feeding;
    if (feedError !== undefined) throw feedError;
    const code = await exited;
    if (code !== 0) {
      throw new KilnError(`${tool} failed (exit ${code}): ${stderr.trim() || "no message"}`, {
        hint: "try --compression gzip",
      });
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await feeding;
  }
}

/** `source` compressed as `compression` says. */
export function compress(
  source: AsyncIterable<Uint8Array>,
  compression: Compression,
  options: CompressOptions = {},
): AsyncIterable<Uint8Array> {
  switch (compression) {
    case "none":
      return source;
    case "gzip":
      return gzipParallel(source, options);
    case "zstd":
    case "xz":
      return throughTool(compression, source, options);
  }
}
