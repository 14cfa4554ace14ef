import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32Combine } from "./crc32-combine.js";

describe("crc32Combine", () => {
  it("gives the CRC of the joined bytes, for lengths from 0 to a few MiB", () => {
    for (const [a, b] of [
      [0, 0],
      [0, 5],
      [7, 0],
      [1, 1],
      [100, 3],
      [4096, 65537],
      [1 << 20, (3 << 20) + 11],
    ] as const) {
      const x = randomBytes(a);
      const y = randomBytes(b);
      expect(crc32Combine(crc32(x), crc32(y), y.length)).toBe(crc32(Buffer.concat([x, y])));
    }
  });

  it("folds over many pieces in order", () => {
    const pieces = Array.from({ length: 20 }, (_, i) => randomBytes(1 + i * 997));
    let crc = 0;
    for (const p of pieces) crc = crc32Combine(crc, crc32(p), p.length);
    expect(crc).toBe(crc32(Buffer.concat(pieces)));
  });
});
