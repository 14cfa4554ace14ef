// Cold pull of a multi-layer image (≥ 200 MiB) from a loopback registry: kiln against `skopeo copy`
// to an OCI layout, alternating, in one run. kiln is measured twice: its builder's pullImage (the
// comparison) and the whole `kiln cache pull` command, whose start-up loads every command's code.
// Prints a Markdown table for docs/benchmarks.md.
//   npx tsx bench/pull-vs-skopeo.ts [runs=5] [layers=4] [mibPerLayer=60]
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { makeLayout, pushWithSkopeo, startRegistry } from "../packages/builder/src/testing/index.ts";

const runs = Number(process.argv[2] ?? 5);
const layerCount = Number(process.argv[3] ?? 4);
const mib = Number(process.argv[4] ?? 60);
const here = fileURLToPath(new URL(".", import.meta.url));

async function timed(cmd, args) {
  const r = await execa("/usr/bin/time", ["-f", "%e %M %U %S", cmd, ...args], { reject: true });
  const [secs, kib, user, sys] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { secs, rssMiB: kib / 1024, cpu: user + sys };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const registry = await startRegistry();
try {
  const layers = Array.from({ length: layerCount }, (_, i) => [
    { name: `blob-${i}`, content: randomBytes(mib * 1024 * 1024) },
  ]);
  const layout = await makeLayout("v1", [{ layers }]);
  await pushWithSkopeo(layout.dir, "v1", registry, "bench/big");
  const ref = `${registry.host}/bench/big:v1`;
  const loadBefore = loadavg()[0];
  const kiln = [];
  const cli = [];
  const skopeo = [];
  const cliMain = join(here, "..", "packages", "cli", "dist", "main.js");
  for (let i = 0; i < runs; i++) {
    const a = await mkdtemp(join(tmpdir(), "bench-kiln-"));
    kiln.push(await timed(process.execPath, [join(here, "kiln-pull.mjs"), a, ref]));
    await rm(a, { recursive: true, force: true });
    const c = await mkdtemp(join(tmpdir(), "bench-kiln-cli-"));
    cli.push(await timed(process.execPath, [cliMain, "cache", "pull", "-q", "--cache", c, ref]));
    await rm(c, { recursive: true, force: true });
    const b = await mkdtemp(join(tmpdir(), "bench-skopeo-"));
    skopeo.push(
      await timed("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${ref}`, `oci:${b}:v1`]),
    );
    await rm(b, { recursive: true, force: true });
  }
  const summary = (rs) => ({
    secs: median(rs.map((r) => r.secs)),
    rss: median(rs.map((r) => r.rssMiB)),
    cpu: median(rs.map((r) => r.cpu)),
  });
  const k = summary(kiln);
  const c = summary(cli);
  const s = summary(skopeo);
  console.log(`image: ${layerCount} layers × ${mib} MiB random (gzip'd), ${runs} alternating runs, medians`);
  console.log(`load average (1 min) before/after: ${loadBefore.toFixed(1)}/${loadavg()[0].toFixed(1)}`);
  const row = (name, x) => `| ${name} | ${x.secs.toFixed(2)} | ${x.cpu.toFixed(2)} | ${x.rss.toFixed(0)} |`;
  const ratio = (name, a, b) =>
    `| ${name} | ${(a.secs / b.secs).toFixed(2)} | ${(a.cpu / b.cpu).toFixed(2)} | ${(a.rss / b.rss).toFixed(2)} |`;
  console.log("| tool | wall time (s) | CPU, user + sys (s) | peak RSS (MiB) |");
  console.log("| --- | --- | --- | --- |");
  console.log(row("kiln (builder pullImage, 4 parallel layers)", k));
  console.log(row("kiln cache pull (the whole CLI)", c));
  console.log(row("skopeo copy → oci:", s));
  console.log(ratio("ratio kiln/skopeo", k, s));
  console.log(ratio("ratio kiln cache pull/skopeo", c, s));
  console.log(
    `raw kiln: ${kiln.map((r) => r.secs).join(", ")}; raw kiln CLI: ${cli.map((r) => r.secs).join(", ")}; ` +
      `raw skopeo: ${skopeo.map((r) => r.secs).join(", ")}`,
  );
} finally {
  await registry.stop();
}
