// What every format writer of one build shares: the kernel files, and the initrd and rootfs tar, each
// made at most once, on first request, in the build's work directory.

import { createReadStream, createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { KernelEntry } from "@kiln/spec";
import type { Segment } from "../assemble/bundles.js";
import { discard } from "../assemble/entries.js";
import type { ApplianceImage } from "../assemble/image.js";
import { kernelEntries } from "../assemble/kernel.js";
import type { PieceStore } from "../cache/pieces.js";
import type { FlatEntry } from "../flatten/entry.js";
import type { Compression } from "../formats/compress.js";
import { writeInitrd } from "../formats/initrd.js";
import { writeSegmentedInitrd } from "../formats/initrd-segments.js";
import { writeTarFile } from "../formats/tar.js";
import type { FormatContext } from "../formats/types.js";
import type { ToolRunner } from "../tools/types.js";

export interface BootFiles {
  kernel: string;
  cmdline: string;
  ucode?: string;
}

/** Write boot/kernel and boot/ucode.cpio of the kernel image into `dir`; the rest of it is skipped. */
export async function extractBoot(
  image: ApplianceImage,
  k: KernelEntry,
  dir: string,
  mtime: Date,
  signal?: AbortSignal,
): Promise<BootFiles> {
  const out: BootFiles = { kernel: join(dir, "kernel"), cmdline: k.cmdline ?? "" };
  for await (const { entry, body } of kernelEntries(image, k, { mtime, ...(signal ? { signal } : {}) })) {
    if (body === undefined) continue;
    if (entry.path === "boot/kernel") await pipeline(body, createWriteStream(out.kernel));
    else if (entry.path === "boot/ucode.cpio") {
      out.ucode = join(dir, "ucode.cpio");
      await pipeline(body, createWriteStream(out.ucode));
    } else await discard(body);
  }
  return out;
}

export interface SharedInputs {
  name: string;
  /** The build's work directory; removed by the build whatever happens. */
  workDir: string;
  boot: BootFiles | undefined;
  entries: () => AsyncIterable<FlatEntry>;
  /** The same entries as runs (see `assembleSegments`); the initrd then reuses cached pieces. */
  segments?: () => Iterable<Segment>;
  /** The piece cache the initrd reads and fills. */
  pieces?: PieceStore;
  compression: Compression;
  workers?: number;
  size: number;
  arch: string;
  tools: ToolRunner;
  signal: AbortSignal;
  mtime: Date;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= make();
    return p;
  };
}

/** One FormatContext per writer, over artifacts shared by all of them. */
export class BuildArtifacts {
  readonly initrdWithoutUcode: () => Promise<string>;
  readonly initrd: () => Promise<string>;
  readonly rootfsTar: () => Promise<string>;

  constructor(private readonly s: SharedInputs) {
    const options = { signal: s.signal, ...(s.workers !== undefined ? { workers: s.workers } : {}) };
    this.initrdWithoutUcode = once(async () => {
      const path = join(s.workDir, "initrd-body");
      if (s.segments) {
        const pieces = s.pieces ? { pieces: s.pieces } : {};
        await writeSegmentedInitrd(s.segments(), path, s.compression, { ...options, ...pieces });
      } else await writeInitrd(s.entries(), path, s.compression, options);
      return path;
    });
    this.initrd = once(async () => {
      const body = await this.initrdWithoutUcode();
      if (s.boot?.ucode === undefined) return body;
      const path = join(s.workDir, "initrd.img");
      const out = createWriteStream(path);
      await pipeline(createReadStream(s.boot.ucode), out, { end: false });
      await pipeline(createReadStream(body), out);
      return path;
    });
    this.rootfsTar = once(async () => {
      const path = join(s.workDir, "rootfs.tar");
      await writeTarFile(s.entries(), path, s.signal);
      return path;
    });
  }

  async contextFor(writer: string): Promise<FormatContext> {
    const workDir = join(this.s.workDir, `format-${writer.replace(/[^a-z0-9]+/gi, "-")}`);
    await mkdir(workDir, { recursive: true });
    const ctx: FormatContext = {
      name: this.s.name,
      workDir,
      kernel: this.s.boot?.kernel ?? "",
      cmdline: this.s.boot?.cmdline ?? "",
      initrd: this.initrd,
      initrdWithoutUcode: this.initrdWithoutUcode,
      rootfsTar: this.rootfsTar,
      entries: this.s.entries,
      compression: this.s.compression,
      size: this.s.size,
      arch: this.s.arch,
      tools: this.s.tools,
      signal: this.s.signal,
      mtime: this.s.mtime,
    };
    if (this.s.boot?.ucode !== undefined) ctx.ucode = this.s.boot.ucode;
    return ctx;
  }
}
