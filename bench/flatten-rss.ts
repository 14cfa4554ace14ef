// Peak RSS of flattening a ≥ 1 GiB multi-layer image with the builder's flattenLayers, every body read
// to the end. Builds the image (gzip'd layers of big random files, many small files, whiteouts, an
// opaque directory and hard links) into a temporary OCI layout, then flattens it in a fresh process
// under /usr/bin/time. Prints a Markdown table for docs/benchmarks.md.
//   npx tsx bench/flatten-rss.ts [layers=8] [mibPerLayer=136]
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { createGzip } from "node:zlib";
import { execa } from "execa";
import { pack } from "tar-stream";
import { OciCache } from "../packages/builder/dist/index.js";

const layerCount = Number(process.argv[2] ?? 8);
const mibPerLayer = Number(process.argv[3] ?? 136);
const here = fileURLToPath(new URL(".", import.meta.url));
const MiB = 1024 * 1024;
const BIG = 16 * MiB;
const SMALL_FILES = 1500;
const mtime = new Date("2017-04-18T16:30:00Z");

/** Passes bytes through while hashing and counting them. */
function digester() {
  const hash = createHash("sha256");
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: `sha256:${hash.digest("hex")}`, size }) };
}

async function writeEntry(p: ReturnType<typeof pack>, name: string, size: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const entry = p.entry({ name, size, mode: 0o644, mtime }, (err) => (err ? reject(err) : resolve()));
    let left = size;
    const more = () => {
      while (left > 0) {
        const chunk = randomBytes(Math.min(MiB, left));
        left -= chunk.length;
        if (!entry.write(chunk)) {
          entry.once("drain", more);
          return;
        }
      }
      entry.end();
    };
    more();
  });
}

/** One gzip'd layer straight into the layout's blob store; returns its descriptor and diff_id. */
async function layer(cache: OciCache, index: number) {
  const p = pack();
  const fill = (async () => {
    p.entry({ name: `layer${index}/`, type: "directory", mode: 0o755, mtime });
    if (index > 0) {
      // Upper layers delete and replace files of the layer below, and hide one directory wholesale.
      p.entry({ name: `layer${index - 1}/.wh.big-1`, mode: 0o644, mtime }, "");
      p.entry({ name: `layer${index - 1}/small/.wh..wh..opq`, mode: 0o644, mtime }, "");
      p.entry({ name: `layer${index - 1}/small/kept`, mode: 0o644, mtime }, "survives the opaque dir\n");
    }
    const bigCount = Math.floor((mibPerLayer * MiB) / BIG);
    for (let i = 0; i < bigCount; i++) await writeEntry(p, `layer${index}/big-${i}`, BIG);
    p.entry({
      name: `layer${index}/big-link`,
      type: "link",
      linkname: `layer${index}/big-2`,
      mode: 0o644,
      mtime,
    });
    p.entry({ name: `layer${index}/small/`, type: "directory", mode: 0o755, mtime });
    for (let i = 0; i < SMALL_FILES; i++) {
      p.entry({ name: `layer${index}/small/f${i}`, mode: 0o644, mtime }, randomBytes(512 + (i % 16) * 512));
    }
    p.finalize();
  })();
  const diff = digester();
  const blob = digester();
  const tmp = join(cache.dir, "blobs", "sha256", `.bench-${index}`);
  await Promise.all([
    fill,
    pipeline(p, diff.stream, createGzip({ level: 1 }), blob.stream, createWriteStream(tmp)),
  ]);
  const d = blob.result();
  await rename(tmp, cache.blobPath(d.digest));
  return {
    descriptor: { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...d },
    diffId: diff.result(),
  };
}

async function timed(args: string[]) {
  const r = await execa("/usr/bin/time", ["-f", "%e %M", process.execPath, ...args]);
  const [secs, kib] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return {
    report: JSON.parse(r.stdout) as { entries: number; bytes: number; seconds: number },
    secs,
    rssMiB: kib! / 1024,
  };
}

const dir = await mkdtemp(join(tmpdir(), "bench-flatten-"));
try {
  const cache = await OciCache.open(dir);
  const started = Date.now();
  const layers = [];
  for (let i = 0; i < layerCount; i++) layers.push(await layer(cache, i));
  const uncompressed = layers.reduce((n, l) => n + l.diffId.size, 0);
  const config = await cache.putBytes(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId.digest) },
      }),
    ),
    "application/vnd.oci.image.config.v1+json",
  );
  const manifest = await cache.putBytes(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config,
        layers: layers.map((l) => l.descriptor),
      }),
    ),
    "application/vnd.oci.image.manifest.v1+json",
  );
  await cache.tag("bench/flatten:v1", manifest);
  console.error(`fixture built in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const run = join(here, "flatten-run.mjs");
  const baseline = await timed([run, dir, "bench/flatten:v1", "--no-flatten"]);
  const flat = await timed([run, dir, "bench/flatten:v1"]);
  console.log(
    `image: ${layerCount} gzip'd layers, ${(uncompressed / 2 ** 30).toFixed(2)} GiB uncompressed, ` +
      `${flat.report.entries} entries after flattening, ${(flat.report.bytes / 2 ** 30).toFixed(2)} GiB of contents`,
  );
  console.log("| run | wall time (s) | peak RSS (MiB) |");
  console.log("| --- | --- | --- |");
  console.log(
    `| node + builder, image resolved, no flattening | ${baseline.secs.toFixed(2)} | ${baseline.rssMiB.toFixed(0)} |`,
  );
  console.log(`| flattenLayers, every body read | ${flat.secs.toFixed(2)} | ${flat.rssMiB.toFixed(0)} |`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
