import { Readable } from "node:stream";
import { expect, test } from "vitest";
import { flattenLayers, type LayerSource } from "./flatten.js";

const MiB = 1024 * 1024;

/** A ustar header for one regular file. */
function ustarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return header;
}

/** A one-file layer of `size` bytes, made as it is read: never in memory as a whole. */
function bigLayer(size: number): LayerSource {
  async function* bytes(): AsyncGenerator<Buffer> {
    yield ustarHeader("srv/big.bin", size);
    // fresh buffers, as a file or a decompressor would give: any of them kept alive shows up in rss
    for (let left = size; left > 0; left -= MiB) yield Buffer.allocUnsafe(Math.min(MiB, left)).fill(0x5a);
    yield Buffer.alloc((512 - (size % 512)) % 512);
    yield Buffer.alloc(1024);
  }
  return {
    digest: `sha256:${"5a".repeat(32)}`,
    open: async () => Readable.from(bytes(), { objectMode: false }),
  };
}

test("flattening a 300 MiB layer keeps memory bounded", async () => {
  const size = 300 * MiB;
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const seen: { path: string; bytes: number }[] = [];
  try {
    for await (const { entry, body } of flattenLayers([bigLayer(size)])) {
      let bytes = 0;
      if (body !== undefined) {
        for await (const chunk of body) {
          bytes += (chunk as Buffer).length;
          peak = Math.max(peak, process.memoryUsage().rss);
        }
      }
      seen.push({ path: entry.path, bytes });
    }
  } finally {
    clearInterval(sampler);
  }
  expect(seen).toEqual([
    { path: "srv", bytes: 0 },
    { path: "srv/big.bin", bytes: size },
  ]);
  const growth = (peak - before) / MiB;
  expect(growth, `rss grew by ${growth.toFixed(1)} MiB`).toBeLessThan(100);
});
