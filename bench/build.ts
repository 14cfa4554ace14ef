// `kiln build` of the MinIO appliance (examples/minio.yml) from a warm cache: the full kernel+initrd build,
// its peak RSS and initrd size, the no-op rebuild (answered from the quick record the build leaves, and again
// with that record removed, so the full check answers), and kiln's parallel gzip against pigz on the same
// bytes (the appliance's uncompressed cpio). Prints Markdown for docs/benchmarks.md. The CLI must be built.
//   npx tsx bench/build.ts [runs=3] [cache=a new temp dir] [linuxkit-cmd] [yaml=examples/minio.yml]
// The optional peer, run as `linuxkit-cmd YAML CACHE OUTDIR kernel+initrd`, builds the same appliance with
// LinuxKit (its @pkg: images replaced by the names kiln built them as, which are in CACHE).
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const runs = Number(process.argv[2] ?? 3);
const here = fileURLToPath(new URL(".", import.meta.url));
const cacheArg = process.argv[3];
const linuxkit = process.argv[4];
const yml = resolve(process.argv[5] ?? join(here, "../examples/minio.yml"));
const kiln = join(here, "../packages/cli/dist/main.js");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (n: number) => (n / 2 ** 20).toFixed(1);

/** A no-op's wall time, and the time from the command's start to its answer, as it reports it. */
function noopSample(n: { secs: number; stderr: string }): { secs: number; checkedMs: number } {
  return { secs: n.secs, checkedMs: Number(/checked in (\d+) ms/.exec(n.stderr)?.[1] ?? Number.NaN) };
}

async function timed(cmd: string, args: string[]): Promise<{ secs: number; rssMiB: number; stderr: string }> {
  const r = await execa("/usr/bin/time", ["-f", "TIME %e %M", cmd, ...args]);
  const line = r.stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("TIME "))
    .pop()!;
  const [, secs, kib] = line.split(" ").map(Number);
  return { secs: secs!, rssMiB: kib! / 1024, stderr: r.stderr };
}

const root = await mkdtemp(join(tmpdir(), "bench-build-"));
try {
  const cache = cacheArg ? resolve(cacheArg) : join(root, "cache");
  const out = join(root, "out");
  const name = "appliance";
  const args = ["build", "--cache", cache, "--dir", out, "--name", name, "-f", "kernel+initrd"];
  const warm = await timed(process.execPath, [kiln, ...args, yml]);
  const full: Array<{ secs: number; rssMiB: number }> = [];
  const noop: Array<{ secs: number; checkedMs: number }> = [];
  const fullNoop: Array<{ secs: number; checkedMs: number }> = [];
  const imagesOnly: Array<{ secs: number; rssMiB: number }> = [];
  for (let i = 0; i < runs; i++) {
    // The image cache alone: the initrd pieces an earlier build left are deleted first.
    await rm(join(cache, "initrd-pieces"), { recursive: true, force: true });
    imagesOnly.push(await timed(process.execPath, [kiln, ...args, "-q", "--force", yml]));
    full.push(await timed(process.execPath, [kiln, ...args, "-q", "--force", yml]));
    noop.push(noopSample(await timed(process.execPath, [kiln, ...args, yml])));
    // Without its quick record (as after a touched input) a no-op is the full check, which records again.
    await rm(join(cache, "builds", "quick"), { recursive: true, force: true });
    fullNoop.push(noopSample(await timed(process.execPath, [kiln, ...args, yml])));
  }
  const initrd = (await stat(join(out, `${name}-initrd.img`))).size;
  const version = median(
    await Promise.all([0, 1, 2].map(async () => (await timed(process.execPath, [kiln, "--version"])).secs)),
  );

  let peer = "";
  if (linuxkit) {
    const names = new Map<string, string>();
    for (const m of warm.stderr.matchAll(
      /kiln: ([a-z0-9-]+): (?:built|up to date \()(kiln\.local\/pkg\/[a-z0-9-]+:[0-9a-f]+)/g,
    ))
      names.set(m[1]!, m[2]!);
    const text = (await readFile(yml, "utf8")).replace(
      /"@pkg:[^"]*\/([a-z0-9-]+)"/g,
      (_, pkg: string) => names.get(pkg) ?? pkg,
    );
    const resolved = join(root, "linuxkit.yml");
    await writeFile(resolved, text);
    const lk: Array<{ secs: number; rssMiB: number }> = [];
    for (let i = 0; i < runs; i++)
      lk.push(await timed(linuxkit, [resolved, cache, join(root, `lk-${i}`), "kernel+initrd"]));
    const lkInitrd = (await stat(join(root, "lk-0", "lk-initrd.img"))).size;
    const k = median(full.map((f) => f.secs));
    const l = median(lk.map((f) => f.secs));
    peer = `| LinuxKit v1.8.2 (its own Build + Formats, same images and cache) | ${l.toFixed(2)} s, ${median(lk.map((f) => f.rssMiB)).toFixed(0)} MiB, initrd ${mib(lkInitrd)} MiB |\n| ratio kiln/LinuxKit, full build | **${(k / l).toFixed(2)}** |\n`;
  }

  // gzip: kiln's compressor against pigz on the appliance's uncompressed cpio.
  const raw = join(root, "raw");
  await timed(process.execPath, [
    kiln,
    "build",
    "-q",
    "--cache",
    cache,
    "--dir",
    raw,
    "--name",
    name,
    "--compression",
    "none",
    yml,
  ]);
  const cpio = join(raw, `${name}-initrd.img`);
  const cpioBytes = (await stat(cpio)).size;
  const cores = availableParallelism();
  let level = 0;
  const kg: Array<{ secs: number; bytes: number }> = [];
  const pg: Array<{ secs: number; bytes: number }> = [];
  for (let i = 0; i < runs; i++) {
    const r = await execa(process.execPath, [join(here, "kiln-gzip.mjs"), cpio, String(cores)]);
    const [secs, bytes, kilnLevel] = r.stdout.trim().split(" ").map(Number);
    kg.push({ secs: secs!, bytes: bytes! });
    level = kilnLevel!;
    const started = performance.now();
    const p = await execa("sh", ["-c", `pigz -${level} -p ${cores} -c "${cpio}" | wc -c`]);
    pg.push({ secs: (performance.now() - started) / 1000, bytes: Number(p.stdout.trim()) });
  }
  const kSecs = median(kg.map((x) => x.secs));
  const pSecs = median(pg.map((x) => x.secs));
  const rate = (secs: number) => (cpioBytes / 2 ** 20 / secs).toFixed(1);
  console.log(
    `${yml.slice(dirname(here).length + 1)}, ${runs} runs, medians; first build into the cache: ${warm.secs.toFixed(1)} s.\n`,
  );
  console.log("| measure | value |\n| --- | --- |");
  console.log(
    `| full build, warm cache: images and initrd pieces (\`kiln build --force -f kernel+initrd\`) | ${median(full.map((f) => f.secs)).toFixed(2)} s |`,
  );
  console.log(`| peak RSS of that build | ${median(full.map((f) => f.rssMiB)).toFixed(0)} MiB |`);
  console.log(
    `| full build, image cache only (initrd pieces deleted first) | ${median(imagesOnly.map((f) => f.secs)).toFixed(2)} s, ${median(imagesOnly.map((f) => f.rssMiB)).toFixed(0)} MiB |`,
  );
  console.log(
    `| initrd size (gzip -${level}) | ${mib(initrd)} MiB (uncompressed cpio ${mib(cpioBytes)} MiB) |`,
  );
  console.log(
    `| no-op rebuild, whole command | ${median(noop.map((n) => n.secs)).toFixed(2)} s (\`kiln --version\` alone: ${version.toFixed(2)} s) |`,
  );
  console.log(
    `| no-op rebuild, from the command's start to its answer | ${median(noop.map((n) => n.checkedMs)).toFixed(0)} ms |`,
  );
  console.log(
    `| no-op rebuild without its quick record (the full check), whole command | ${median(fullNoop.map((n) => n.secs)).toFixed(2)} s (${median(fullNoop.map((n) => n.checkedMs)).toFixed(0)} ms to answer) |`,
  );
  process.stdout.write(peer);
  console.log(
    `\n| gzip -${level} of the ${mib(cpioBytes)} MiB cpio, ${cores} cores | time (s) | MiB/s | output (MiB) |\n| --- | --- | --- | --- |`,
  );
  console.log(
    `| kiln (zlib on libuv's thread pool, 1 MiB blocks) | ${kSecs.toFixed(2)} | ${rate(kSecs)} | ${mib(kg[0]!.bytes)} |`,
  );
  console.log(`| pigz -${level} -p ${cores} | ${pSecs.toFixed(2)} | ${rate(pSecs)} | ${mib(pg[0]!.bytes)} |`);
  console.log(
    `| ratio kiln/pigz | **${(kSecs / pSecs).toFixed(2)}** | | ${(kg[0]!.bytes / pg[0]!.bytes).toFixed(3)} |`,
  );
  const ratio = (xs: Array<{ secs: number }>) => (median(xs.map((x) => x.secs)) / pSecs).toFixed(2);
  console.log(
    `\n| whole warm build / pigz on the same bytes | ratio |\n| --- | --- |\n| images and initrd pieces cached | **${ratio(full)}** |\n| image cache only | **${ratio(imagesOnly)}** |`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
