import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Segment } from "../assemble/bundles.js";
import { PieceStore } from "../cache/pieces.js";
import type { Entry, FlatEntry } from "../flatten/entry.js";
import { writeCpio } from "./cpio.js";
import { writeSegmentedInitrd } from "./initrd-segments.js";

const T = new Date("2017-04-18T16:30:00Z");

function entry(path: string, type: Entry["type"], size = 0): Entry {
  return { path, type, mode: type === "directory" ? 0o755 : 0o644, uid: 0, gid: 0, mtime: T, size };
}

/** A bundle-like tree under `root`: directories, a few small files and one big incompressible one. */
function tree(root: string, seed: number, bigBytes: number): FlatEntry[] {
  const big = createHash("sha256").update(String(seed)).digest();
  const bigBody = Buffer.concat([randomBytesFrom(seed, bigBytes)]);
  return [
    { entry: entry(root, "directory") },
    { entry: entry(`${root}/etc`, "directory") },
    ...Array.from({ length: 30 }, (_, i): FlatEntry => {
      const body = Buffer.from(`file ${i} of ${root} ${big.toString("hex")}\n`.repeat(i + 1));
      return { entry: entry(`${root}/etc/f${i}`, "file", body.length), body: Readable.from([body]) };
    }),
    { entry: { ...entry(`${root}/bin-link`, "symlink"), linkname: "etc/f1" } },
    { entry: entry(`${root}/big`, "file", bigBody.length), body: Readable.from([bigBody]) },
  ];
}

/** Deterministic pseudo-random bytes (so a test run is repeatable). */
function randomBytesFrom(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let block = createHash("sha256").update(`seed ${seed}`).digest();
  for (let at = 0; at < n; at += block.length) {
    block.copy(out, at);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

async function* each(list: FlatEntry[]): AsyncGenerator<FlatEntry> {
  yield* list;
}

/** An appliance of three runs: loose entries, a keyed image run, loose entries again, another keyed run. */
function segments(bigBytes = 3 << 20): Segment[] {
  return [
    { entries: () => each([{ entry: entry("etc", "directory") }, ...tree("etc/x", 1, 1000)]) },
    {
      key: { image: `sha256:${"a".repeat(64)}`, id: "one", layerBytes: 2 << 20 },
      entries: () => each(tree("containers/a", 2, bigBytes)),
    },
    { entries: () => each(tree("containers/a-cfg", 3, 10)) },
    {
      key: { image: `sha256:${"b".repeat(64)}`, id: "two", layerBytes: 1 << 20 },
      entries: () => each(tree("containers/b", 4, 5000)),
    },
    { entries: () => each(tree("zz", 5, 0)) },
  ];
}

async function* all(list: Segment[]): AsyncGenerator<FlatEntry> {
  for (const s of list) yield* s.entries();
}

async function singleCpio(list: Segment[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of writeCpio(all(list))) chunks.push(c);
  return Buffer.concat(chunks);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kiln-segments-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeSegmentedInitrd (gzip)", () => {
  it("holds the one cpio archive writeCpio makes, in one gzip member that gzip -t and GNU cpio accept", async () => {
    const out = join(dir, "plain.img");
    await writeSegmentedInitrd(segments(), out, "gzip");
    const bytes = await readFile(out);
    expect(gunzipSync(bytes).equals(await singleCpio(segments()))).toBe(true);
    await execa("gzip", ["-t", out]);
    const listed = await execa("sh", ["-c", `gzip -dc '${out}' | cpio -it --quiet`]);
    expect(listed.stdout.split("\n")).toContain("containers/b/big");
    expect(listed.stdout.split("\n").at(-1)).toBe("zz/big");
  });

  it("writes the same bytes with no piece cache, a cold one and a warm one, and fills the cache once", async () => {
    const pieces = new PieceStore(join(dir, "pieces-1"));
    const paths = ["none", "cold", "warm"].map((n) => join(dir, `${n}.img`));
    await writeSegmentedInitrd(segments(), paths[0]!, "gzip");
    await writeSegmentedInitrd(segments(), paths[1]!, "gzip", { pieces });
    const stored = (await readdir(pieces.dir)).sort();
    expect(stored).toHaveLength(2);
    expect(stored[0]!.startsWith("a".repeat(64))).toBe(true);
    expect(stored[1]!.startsWith("b".repeat(64))).toBe(true);
    // The warm build never reads the keyed runs' entries: they come from the cache.
    const warm = segments().map((s) =>
      s.key
        ? {
            ...s,
            entries: () => {
              throw new Error("a cached run was unpacked again");
            },
          }
        : s,
    );
    await writeSegmentedInitrd(warm, paths[2]!, "gzip", { pieces });
    const [none, cold, hot] = await Promise.all(paths.map((p) => readFile(p)));
    expect(cold!.equals(none!)).toBe(true);
    expect(hot!.equals(none!)).toBe(true);
    expect((await readdir(pieces.dir)).sort()).toEqual(stored);
  });

  it("does not reuse a piece made at another inode number (what comes before a run changed)", async () => {
    const pieces = new PieceStore(join(dir, "pieces-2"));
    await writeSegmentedInitrd(segments(), join(dir, "x.img"), "gzip", { pieces });
    const fewer = segments();
    fewer[0] = { entries: () => each([{ entry: entry("etc", "directory") }]) };
    const out = join(dir, "fewer.img");
    await writeSegmentedInitrd(fewer, out, "gzip", { pieces });
    expect(gunzipSync(await readFile(out)).equals(await singleCpio(fewer))).toBe(true);
    expect(await readdir(pieces.dir)).toHaveLength(4);
  });

  it("notices a damaged piece, drops it and makes the run again", async () => {
    const pieces = new PieceStore(join(dir, "pieces-3"));
    const first = join(dir, "first.img");
    await writeSegmentedInitrd(segments(), first, "gzip", { pieces });
    const [name] = await readdir(pieces.dir);
    const path = join(pieces.dir, name!);
    const damaged = await readFile(path);
    damaged[damaged.length - 100]! ^= 0xff;
    await writeFile(path, damaged);
    const again = join(dir, "again.img");
    await writeSegmentedInitrd(segments(), again, "gzip", { pieces });
    expect((await readFile(again)).equals(await readFile(first))).toBe(true);
    expect((await readFile(path)).equals(damaged)).toBe(false);
  });

  it("leaves no piece and no temp file behind when the build is stopped part-way", async () => {
    const pieces = new PieceStore(join(dir, "pieces-4"));
    const controller = new AbortController();
    const list = segments(24 << 20);
    list[1] = {
      ...list[1]!,
      entries: async function* () {
        for await (const fe of each(tree("containers/a", 2, 24 << 20))) {
          // Stopped while this run's biggest file is on its way through cpio and deflate.
          if (fe.entry.path.endsWith("/big")) controller.abort();
          yield fe;
        }
      },
    };
    await expect(
      writeSegmentedInitrd(list, join(dir, "stopped.img"), "gzip", { pieces, signal: controller.signal }),
    ).rejects.toThrow();
    expect(await readdir(pieces.dir)).toEqual([]);
  });

  it("prune drops the pieces of images that are gone and keeps the others", async () => {
    const pieces = new PieceStore(join(dir, "pieces-5"));
    await writeSegmentedInitrd(segments(), join(dir, "p.img"), "gzip", { pieces });
    const result = await pieces.prune(new Set([`sha256:${"a".repeat(64)}`]), { graceMs: 0 });
    expect(result.removed).toBe(1);
    const left = await readdir(pieces.dir);
    expect(left).toHaveLength(1);
    expect(left[0]!.startsWith("a".repeat(64))).toBe(true);
  });
});

describe("writeSegmentedInitrd (other compressions)", () => {
  it("compresses the same single archive with zstd", async () => {
    const out = join(dir, "z.img");
    await writeSegmentedInitrd(segments(), out, "zstd", { pieces: new PieceStore(join(dir, "pieces-z")) });
    const { stdout } = await execa("zstd", ["-dc", out], { encoding: "buffer", stripFinalNewline: false });
    expect(Buffer.from(stdout).equals(await singleCpio(segments()))).toBe(true);
  });
});
