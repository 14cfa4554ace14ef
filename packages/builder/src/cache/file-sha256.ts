// Hashing a file, with nothing but node: imports, so the quick no-op check (build/quick-noop.ts) can
// use it without loading the rest of the builder.

import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

/**
 * SHA-256 of a file from byte `start` on, as hex. Reads through one buffer, so hashing a big output or
 * cache entry does not churn the heap.
 */
export async function fileSha256(path: string, start = 0): Promise<string> {
  const hash = createHash("sha256");
  const fh = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let at = start; ; ) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
}
