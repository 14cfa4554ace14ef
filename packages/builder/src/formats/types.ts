// The contract between the appliance build and the writers of each output format.

import type { ToolRunner } from "../tools/types.js";

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
}
