// Hashing a file, with nothing but node: imports, so the quick no-op check (build/quick-noop.ts) can
// use it without loading the rest of the builder.

import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

/**
 * The bytes of a file from byte `start` on, read into one reused buffer: a chunk is valid until the next one
 * is asked for. A fresh buffer per chunk left the file's size of garbage for V8 to collect.
 */
export async function* fileChunks(path: string, start = 0): AsyncGenerator<Buffer> {
  const fh = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let at = start; ; ) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) break;
      at += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** SHA-256 of a file from byte `start` on, as hex. */
export async function fileSha256(path: string, start = 0): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fileChunks(path, start)) hash.update(chunk);
  return hash.digest("hex");
}
