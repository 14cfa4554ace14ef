// The contract between the appliance build and the writers of each output format.
//
// NOTE to format writers (added by the build, compatibly): `entries()`, `initrdWithoutUcode()` and
// `compression` are new optional members of FormatContext (the build always sets them), and `stream()` /
// `needsKernel` are new optional members of FormatWriter. Nothing existing changed. The format table is formats/registry.ts: add one row per writer.

import type { FlatEntry } from "../flatten/entry.js";
import type { ToolRunner } from "../tools/types.js";
import type { Compression } from "./compress.js";

/**
 * What a format writer gets. Everything is already on disk in `workDir` (a private temp directory
 * that the build removes afterwards), so writers only read inputs and produce their outputs.
 */
export interface FormatContext {
  /** `--name`: the base of every output file name. */
  name: string;
  /** Private scratch space for this writer; removed by the caller whatever happens. */
  workDir: string;
  /** The kernel image file (`boot/kernel` of the appliance). */
  kernel: string;
  /** The kernel command line, exactly as in the YAML. */
  cmdline: string;
  /** `boot/ucode.cpio`, when the kernel image has one. */
  ucode?: string;
  /**
   * The compressed initrd file (newc cpio, ucode already prepended), built on first call and shared
   * by every format of the same build.
   */
  initrd(): Promise<string>;
  /** The uncompressed appliance tar (LinuxKit's `tar` output, `boot/` included), built on first call. */
  rootfsTar(): Promise<string>;
  /** The compressed initrd without the microcode in front (tar-kernel-initrd ships ucode.cpio beside it). */
  initrdWithoutUcode?(): Promise<string>;
  /**
   * A fresh pass over the assembled appliance, entry by entry (what `rootfsTar()` holds, `boot/` included),
   * for writers that can stream it instead of reading a tar from disk. Consume each body before the next.
   */
  entries?(): AsyncIterable<FlatEntry>;
  /** `--compression` of the initrd. */
  compression?: Compression;
  /** `--size` in bytes, for fixed-size disk formats. */
  size: number;
  arch: string;
  /** Runs external tools natively or in the builder image; the only place that knows which. */
  tools: ToolRunner;
  /** Aborted on Ctrl-C or another writer's failure. */
  signal: AbortSignal;
  /** SOURCE_DATE_EPOCH, or LinuxKit's 2017-04-18T16:30:00Z: the time stamp every output uses. */
  mtime: Date;
}

export interface FormatWriter {
  /** LinuxKit's `--format` name, e.g. `iso-efi`. */
  name: string;
  summary: string;
  /** The files this format produces, relative to `--dir`, e.g. [`${name}-efi.iso`]. */
  outputs(name: string): string[];
  /**
   * Write every output to the matching path in `targets` (same order as `outputs`). The caller
   * passes temp paths next to the final names and renames them only when every format succeeded.
   */
  write(ctx: FormatContext, targets: string[]): Promise<void>;
  /** True for `tar` and `docker`: may be written to `-o FILE|-` as a stream. */
  streamable?: boolean;
  /** Streamable formats: write the single output to `out` (standard output for `-o -`). */
  stream?(ctx: FormatContext, out: NodeJS.WritableStream): Promise<void>;
  /** Needs `kernel:` in the YAML (`ctx.kernel` is "" without one). Default true. */
  needsKernel?: boolean;
}
