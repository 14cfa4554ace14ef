// Compressors for the initrd, as streams of bytes in and out.
//
// gzip is pigz's scheme, in-process: the input is cut into fixed 1 MiB blocks, each block is deflated on a
// worker thread with the previous block's last 32 KiB as its dictionary and ends with a sync flush, and the
// pieces are joined into one deflate stream in one gzip member (the kernel's initramfs unpacker wants a
// single member). The bytes depend on the input, the level and zlib only, never on how many workers ran.
// zstd and xz run the system tools with flags whose output does not depend on the core count either.

import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { crc32 } from "node:zlib";
import { KilnError } from "@kiln/spec";

export type Compression = "gzip" | "zstd" | "xz" | "none";
export const COMPRESSIONS: readonly Compression[] = ["gzip", "zstd", "xz", "none"];

export interface CompressOptions {
  /** Worker threads for gzip (default: every core). The output is the same for any count. */
  workers?: number;
  /** gzip level, 1-9 (default 6, as LinuxKit). */
  level?: number;
  signal?: AbortSignal;
}

const BLOCK = 1 << 20;
const WINDOW = 32 * 1024;
// 1f 8b, deflate, no flags, mtime 0, no extra flags, OS "unix": fixed, so the output is reproducible.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

// Runs in each worker (eval'd, so it works the same from sources and from dist).
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const zlib = require("node:zlib");
parentPort.on("message", (job) => {
  try {
    const options = {
      level: job.level,
      finishFlush: job.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    };
    if (job.dictionary) options.dictionary = job.dictionary;
    const out = zlib.deflateRawSync(job.data, options);
    parentPort.postMessage({ id: job.id, out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: String((e && e.message) || e) });
  }
});
`;

interface Job {
  data: Uint8Array;
  dictionary: Uint8Array | undefined;
  last: boolean;
}

/** Deflates jobs on a few worker threads; results come back by job id, in any order. */
class DeflatePool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private turn = 0;
  private failure: Error | undefined;

  constructor(
    private readonly size: number,
    private readonly level: number,
  ) {}

  private worker(): Worker {
    if (this.workers.length < this.size) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on("message", (m: { id: number; out?: Uint8Array; error?: string }) => {
        const p = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error !== undefined || m.out === undefined) p?.reject(new Error(`gzip worker: ${m.error}`));
        else p?.resolve(Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength));
      });
      w.on("error", (e) => this.fail(e));
      w.on("exit", (code) => {
        if (code !== 0) this.fail(new Error(`gzip worker exited with code ${code}`));
      });
      this.workers.push(w);
      return w;
    }
    return this.workers[this.turn++ % this.workers.length]!;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  deflate(job: Job): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const transfer = [job.data.buffer as ArrayBuffer];
      this.worker().postMessage({ id, level: this.level, ...job }, transfer);
    });
  }

  async close(): Promise<void> {
    this.fail(new Error("the gzip pool was closed"));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** An owned copy, so its memory can be handed to a worker. */
function own(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

/** Gzip `source` on every core, pigz-style, with bytes that do not depend on the number of workers. */
export async function* gzipParallel(
  source: AsyncIterable<Uint8Array>,
  options: CompressOptions = {},
): AsyncGenerator<Buffer> {
  const workers = Math.max(1, options.workers ?? availableParallelism());
  const pool = new DeflatePool(workers, options.level ?? 6);
  const pending: Array<Promise<Buffer>> = [];
  let crc = 0;
  let total = 0;
  let dictionary: Uint8Array | undefined;
  let held: Uint8Array[] = [];
  let heldBytes = 0;

  const submit = (block: Uint8Array, last: boolean): void => {
    crc = crc32(block, crc);
    total += block.length;
    const data = own(block);
    const job = pool.deflate({ data, dictionary, last });
    job.catch(() => {}); // awaited in order below; this only keeps an early failure from going unhandled
    pending.push(job);
    const tail = block.length >= WINDOW ? block.subarray(block.length - WINDOW) : undefined;
    dictionary = tail
      ? own(tail)
      : own(Buffer.concat([dictionary ?? new Uint8Array(0), block]).subarray(-WINDOW));
  };

  try {
    yield GZIP_HEADER;
    for await (const chunk of source) {
      options.signal?.throwIfAborted();
      held.push(chunk);
      heldBytes += chunk.length;
      while (heldBytes >= BLOCK) {
        const all = held.length === 1 ? held[0]! : Buffer.concat(held);
        submit(all.subarray(0, BLOCK), false);
        const rest = all.subarray(BLOCK);
        held = rest.length > 0 ? [rest] : [];
        heldBytes = rest.length;
        while (pending.length >= workers * 2) yield await pending.shift()!;
      }
    }
    submit(held.length === 1 ? held[0]! : Buffer.concat(held), true);
    held = [];
    while (pending.length > 0) yield await pending.shift()!;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(total % 2 ** 32, 4);
    yield trailer;
  } finally {
    await pool.close();
  }
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
