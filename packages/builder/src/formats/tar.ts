// `tar`: the assembled appliance as LinuxKit's PAX tar (`NAME.tar`, or `-o FILE|-`), streamed straight
// from the entries.

import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import type { FlatEntry } from "../flatten/entry.js";
import { flattenLayers } from "../flatten/flatten.js";
import { type ChunkSink, TarWriter } from "../sources/tar-writer.js";
import { drained } from "./compress.js";
import type { FormatContext, FormatWriter } from "./types.js";

/** Where chunks go: a new file at `target`, or an open stream (standard output). */
export async function withSink<T>(
  target: string | NodeJS.WritableStream,
  use: (sink: ChunkSink) => Promise<T>,
): Promise<T> {
  if (typeof target !== "string") {
    const stream = target;
    return use(async (chunk) => {
      if (!stream.write(chunk)) await drained(stream);
    });
  }
  const fh = await open(target, "w", 0o644);
  try {
    const result = await use(async (chunk) => {
      let offset = 0;
      while (offset < chunk.length) offset += (await fh.write(chunk, offset)).bytesWritten;
    });
    await fh.sync();
    return result;
  } finally {
    await fh.close();
  }
}

/** Write `entries` as a tar to `target`. */
export async function writeTarFile(
  entries: AsyncIterable<FlatEntry>,
  target: string | NodeJS.WritableStream,
  signal?: AbortSignal,
): Promise<void> {
  await withSink(target, async (sink) => {
    const tar = new TarWriter(sink);
    for await (const { entry, body } of entries) {
      signal?.throwIfAborted();
      await tar.add(entry, body);
    }
    await tar.finish();
  });
}

/** The appliance's entries: streamed when the context can, else read back from its rootfs tar. */
export async function* applianceEntries(ctx: FormatContext): AsyncGenerator<FlatEntry> {
  if (ctx.entries) {
    yield* ctx.entries();
    return;
  }
  const tar = await ctx.rootfsTar();
  yield* flattenLayers([{ digest: tar, open: async () => createReadStream(tar) }], { signal: ctx.signal });
}

export const tarFormat: FormatWriter = {
  name: "tar",
  summary: "the root filesystem as a PAX tar, boot/ included (streamable with -o)",
  outputs: (name) => [`${name}.tar`],
  streamable: true,
  needsKernel: false,
  async write(ctx: FormatContext, targets: string[]) {
    await writeTarFile(applianceEntries(ctx), targets[0]!, ctx.signal);
  },
  async stream(ctx: FormatContext, out: NodeJS.WritableStream) {
    await writeTarFile(applianceEntries(ctx), out, ctx.signal);
  },
};
