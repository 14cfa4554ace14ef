// Where an exported archive goes: a file (temp beside it, renamed only when complete) or a stream.

import { once } from "node:events";
import { commitTemp, writeTemp } from "../cache/atomic.js";
import { TarWriter } from "./tar-writer.js";

/** A path, or a stream such as process.stdout. */
export type ArchiveOutput = string | NodeJS.WritableStream;

async function toStream(stream: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  if (!stream.write(chunk)) await once(stream as NodeJS.EventEmitter, "drain");
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
