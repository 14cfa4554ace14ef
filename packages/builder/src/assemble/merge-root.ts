// The root the kernel's modules and the init images are merged into, one after another.
//
// Flattening makes up the parent directories a layer leaves out, so that each image on its own unpacks whole
// (the kernel's initramfs unpacker makes no parents). At a shared root that is only needed where nothing was
// there yet: a made-up directory written over one an earlier image (or the kernel's modules) really has would
// replace its mode, owner, time and tags, since the last copy of a path wins in a tar extract and in the
// initramfs alike. LinuxKit, which makes nothing up, leaves the earlier one as it was, and so does this.

import type { FlatEntry } from "../flatten/entry.js";

export class MergedRoot {
  /** Every path written so far; a few bytes per entry of the kernel's modules and the init images. */
  private readonly written = new Set<string>();

  /**
   * `entries`, minus the made-up directories whose path something earlier in this root already holds
   * (whatever it is: a real directory, a made-up one, or a symlink LinuxKit would leave in place).
   */
  async *merge(entries: AsyncIterable<FlatEntry>): AsyncGenerator<FlatEntry> {
    for await (const fe of entries) {
      const { path } = fe.entry;
      if (fe.entry.synthetic === true && this.written.has(path)) continue;
      this.written.add(path);
      yield fe;
    }
  }
}
