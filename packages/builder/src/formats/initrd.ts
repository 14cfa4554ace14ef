// The initrd: the appliance without boot/ as a compressed newc cpio, streamed from the entries, never
// unpacked to disk. The microcode cpio (when the kernel image has one) goes uncompressed in front.

import { discard } from "../assemble/entries.js";
import type { FlatEntry } from "../flatten/entry.js";
import { type Compression, type CompressOptions, compress } from "./compress.js";
import { writeCpio } from "./cpio.js";
import { withSink } from "./tar.js";

/** Everything but `boot/...` (boot/kernel, boot/cmdline and boot/ucode.cpio live beside the initrd). */
export async function* withoutBoot(entries: AsyncIterable<FlatEntry>): AsyncGenerator<FlatEntry> {
  for await (const fe of entries) {
    if (fe.entry.path.startsWith("boot/")) {
      await discard(fe.body);
      continue;
    }
    yield fe;
  }
}

/** The initrd's bytes: `boot/` left out, newc cpio, compressed. */
export function initrdStream(
  entries: AsyncIterable<FlatEntry>,
  compression: Compression,
  options: CompressOptions = {},
): AsyncIterable<Uint8Array> {
  return compress(writeCpio(withoutBoot(entries), options.signal), compression, options);
}

/** Write the initrd of `entries` to `target`. */
export async function writeInitrd(
  entries: AsyncIterable<FlatEntry>,
  target: string,
  compression: Compression,
  options: CompressOptions = {},
): Promise<void> {
  await withSink(target, async (sink) => {
    for await (const chunk of initrdStream(entries, compression, options))
      await sink(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
}
