import { createHash, randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { type Compression, compress, gzipParallel } from "./compress.js";

/** Text-like data (compresses, but not trivially) of `size` bytes, the same every run. */
function corpus(size: number): Buffer {
  const out = Buffer.alloc(size);
  let seed = 42;
  const words = ["kiln", "appliance", "initrd", "linuxkit", "cpio", "gzip", "\n", " ", "0123", "deflate"];
  let i = 0;
  while (i < size) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const w = words[seed % words.length]!;
    i += out.write(w, i);
  }
  return out;
}

async function* chunks(data: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("parallel gzip", () => {
  const data = Buffer.concat([corpus(5 * 1024 * 1024 + 12345), randomBytes(300 * 1024)]);

  test("one gzip member that gzip -t accepts and that inflates to the input", async () => {
    const gz = await collect(gzipParallel(chunks(data), { workers: 2 }));
    await execa("gzip", ["-t"], { input: gz });
    // stripFinalNewline would drop a last "\n" byte of the random tail.
    const { stdout } = await execa("gzip", ["-dc"], {
      input: gz,
      encoding: "buffer",
      stripFinalNewline: false,
    });
    expect(sha(Buffer.from(stdout))).toBe(sha(data));
    expect(gunzipSync(gz).equals(data)).toBe(true);
    // One member: the header appears once, at the start.
    expect(gz.subarray(0, 4).toString("hex")).toBe("1f8b0800");
    expect(gz.length).toBeLessThan(data.length / 2);
  });

  test("the same bytes with 1, 2 and 5 workers, and however the input is chunked", async () => {
    const one = sha(await collect(gzipParallel(chunks(data), { workers: 1 })));
    expect(sha(await collect(gzipParallel(chunks(data, 4096), { workers: 2 })))).toBe(one);
    expect(sha(await collect(gzipParallel(chunks(data, 3 * 1024 * 1024 + 7), { workers: 5 })))).toBe(one);
  });

  test("empty input and input of exactly one block", async () => {
    const empty = await collect(gzipParallel(chunks(Buffer.alloc(0)), { workers: 2 }));
    expect(gunzipSync(empty).length).toBe(0);
    const block = corpus(1 << 20);
    expect(gunzipSync(await collect(gzipParallel(chunks(block), { workers: 2 }))).equals(block)).toBe(true);
  });

  test("a failing source stops the workers and surfaces its error", async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield corpus(3 * 1024 * 1024);
      throw new Error("source broke");
    }
    await expect(collect(gzipParallel(failing(), { workers: 2 }))).rejects.toThrow("source broke");
  });

  test("an abort stops it", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(
      collect(gzipParallel(chunks(data), { workers: 2, signal: controller.signal })),
    ).rejects.toThrow("stop");
  });
});

describe("zstd, xz and none", () => {
  const data = corpus(3 * 1024 * 1024);
  test.each<[Compression, string[]]>([
    ["zstd", ["zstd", "-dc"]],
    ["xz", ["xz", "-dc"]],
  ])("%s: decompresses to the input, with the same bytes every time", async (compression, decompress) => {
    const a = await collect(compress(chunks(data), compression));
    const b = await collect(compress(chunks(data, 5000), compression));
    expect(sha(a)).toBe(sha(b));
    const { stdout } = await execa(decompress[0]!, decompress.slice(1), {
      input: a,
      encoding: "buffer",
      stripFinalNewline: false,
    });
    expect(sha(Buffer.from(stdout))).toBe(sha(data));
  });
  test("xz uses CRC32 checks, which the kernel's decoder needs", async () => {
    const xz = await collect(compress(chunks(corpus(1000)), "xz"));
    const { stdout } = await execa("xz", ["--robot", "--list", "-"], { input: xz }).catch(async () =>
      execa("sh", ["-c", "f=$(mktemp); cat > $f; xz --robot --list $f; rm $f"], { input: xz }),
    );
    expect(stdout).toMatch(/CRC32/);
  });
  test("none passes the bytes through", async () => {
    expect(sha(await collect(compress(chunks(data), "none")))).toBe(sha(data));
  });
});
