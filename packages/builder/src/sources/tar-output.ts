// Where an exported archive goes: a file (temp beside it, renamed only when complete) or a stream.

import type { Writable } from "node:stream";
import { commitTemp, writeTemp } from "../cache/atomic.js";
import { TarWriter } from "./tar-writer.js";

/** A path, or a stream such as process.stdout. */
export type ArchiveOutput = string | NodeJS.WritableStream;

/** Write with backpressure; a stream that is destroyed meanwhile fails the write instead of hanging it. */
async function toStream(stream: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  const s = stream as Writable;
  if (s.destroyed || s.writableEnded)
    throw s.errored ?? new Error("the output was closed before the archive was complete");
  if (s.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: Error | null) => {
      s.off("drain", onDrain);
      s.off("close", onClose);
      s.off("error", onError);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (e: Error) => settle(e);
    const onClose = () =>
      settle(s.errored ?? new Error("the output was closed before the archive was complete"));
    s.on("drain", onDrain);
    s.on("close", onClose);
    s.on("error", onError);
  });
}

/**
 * Run `fill` against a TarWriter writing to `out`. A file appears at its path only once the archive is
 * complete and flushed; on any failure nothing is left behind.
 */
export async function writeTar(out: ArchiveOutput, fill: (tar: TarWriter) => Promise<void>): Promise<void> {
  if (typeof out !== "string") {
    const tar = new TarWriter((chunk) => toStream(out, chunk));
    await fill(tar);
    await tar.finish();
    return;
  }
  const tmp = await writeTemp(out, async (fh) => {
    const tar = new TarWriter(async (chunk) => {
      let offset = 0;
      while (offset < chunk.length) offset += (await fh.write(chunk, offset)).bytesWritten;
    });
    await fill(tar);
    await tar.finish();
  });
  await commitTemp(tmp, out);
}
