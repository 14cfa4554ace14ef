// kiln against LinuxKit v1.8.2 on LinuxKit's own work: the same YAMLs, built from the same images in a loopback
// registry, alternating runs, medians and kiln/LinuxKit ratios. Prints Markdown for docs/benchmarks.md and
// writes every raw figure to test-results/bench/kiln-vs-linuxkit.json.
//
//   npm run build && npx tsx --conditions=@kiln/source bench/kiln-vs-linuxkit.ts [--runs 5] [--boots 1]
//       [--only minio|minimal] [--no-boot | --boot-only]
//
// Measured, per YAML (examples/minio.yml, and a minimal appliance: kernel, init, runc, two onboot containers):
// - cold build (both tools with an empty image cache), kernel+initrd; and iso-efi for kiln alone (LinuxKit
//   makes ISOs in linuxkit/mkimage-* containers, which need a Docker daemon and Docker Hub);
// - warm build (caches full, outputs deleted first), the same formats; and for kiln also with its initrd
//   pieces deleted first (the image cache alone, as LinuxKit has);
// - no-op rebuild: the same command again with the outputs in place (LinuxKit has no such thing: it rebuilds);
// - peak RSS of each build (GNU time's %M), the initrd's size with gzip (both) and kiln's other compressions;
// - boot to "S3 ready" of the MinIO appliance each tool built, on kiln's runner (QEMU, TCG here).
// bench/linuxkit-peer.sh builds LinuxKit from source first if needed.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { OciCache } from "../packages/builder/src/index.ts";
import { startRegistry } from "../packages/builder/src/testing/index.ts";
import type { Appliance } from "../packages/e2e/src/appliance.ts";
import { bootAppliance } from "../packages/e2e/src/boot.ts";
import { minimalCase, minioCase } from "../packages/e2e/src/oracle-corpus.ts";
import { APPLIANCE_PACKAGES, pushPackages } from "../packages/e2e/src/oracle-images.ts";
import {
  type BuildRequest,
  buildWithKiln,
  buildWithLinuxkit,
  KILN_BIN,
  linuxkitPeer,
  type RunResult,
} from "../packages/e2e/src/oracle-peers.ts";
import { imageCacheDir, REPO_ROOT } from "../packages/e2e/src/paths.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    boots: { type: "string", default: "1" },
    only: { type: "string" },
    "no-boot": { type: "boolean", default: false },
    "boot-only": { type: "boolean", default: false },
  },
});
const RUNS = Number(values.runs);
const BOOTS = Number(values.boots);
/** Only what the boots need: one warm build per tool. */
const BOOT_ONLY = values["boot-only"];

type Tool = "kiln" | "linuxkit";
interface Sample {
  secs: number;
  cpuSecs: number;
  rssMiB: number;
}
interface Row {
  yaml: string;
  what: string;
  kiln: Sample[];
  linuxkit: Sample[];
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const log = (line: string) => console.error(`bench: ${line}`);
const sample = (r: RunResult): Sample => ({
  secs: r.ms / 1000,
  cpuSecs: r.cpuSecs ?? Number.NaN,
  rssMiB: (r.maxRssKiB ?? 0) / 1024,
});

const peer = await linuxkitPeer();
if (!peer.available) {
  console.error(`bench: LinuxKit is not available: ${peer.reason}`);
  process.exit(3);
}
const linuxkit = peer.binary;
const work = await mkdtemp(join(tmpdir(), "kiln-vs-linuxkit-"));
const registry = await startRegistry();
const rows: Row[] = [];
const sizes: Array<{ yaml: string; tool: string; compression: string; bytes: number }> = [];
const boots: Array<{ tool: Tool; secs: number }> = [];

try {
  log("pushing kiln's images to the loopback registry");
  const refs = await pushPackages(registry.host, APPLIANCE_PACKAGES, {
    cache: await OciCache.open(imageCacheDir()),
  });
  const cases = [minioCase(refs), minimalCase(refs)].filter((c) => !values.only || c.name === values.only);

  for (const c of cases) {
    const dir = (tool: Tool, what: string) => join(work, c.name, tool, what);
    const request = (tool: Tool, what: string, formats: string[], cache: string, extra: string[] = []) =>
      ({
        dir: dir(tool, what),
        case: c,
        formats,
        cache,
        registry: registry.host,
        name: "minio",
        measure: true,
        extraArgs: extra,
      }) satisfies BuildRequest;
    const build = (tool: Tool, r: BuildRequest) =>
      tool === "kiln" ? buildWithKiln(r) : buildWithLinuxkit(linuxkit, r);
    const warmCache = {
      kiln: join(work, c.name, "kiln-cache"),
      linuxkit: join(work, c.name, "linuxkit-cache"),
    };

    // Cold: a new, empty cache every run, alternating tools.
    const cold: Row = { yaml: c.name, what: "cold build, kernel+initrd", kiln: [], linuxkit: [] };
    for (let i = 0; i < (BOOT_ONLY ? 0 : RUNS); i++) {
      for (const tool of i % 2 ? (["linuxkit", "kiln"] as const) : (["kiln", "linuxkit"] as const)) {
        const cache = join(work, c.name, `${tool}-cold-${i}`);
        await rm(dir(tool, "cold"), { recursive: true, force: true });
        cold[tool].push(sample(await build(tool, request(tool, "cold", ["kernel+initrd"], cache))));
        await rm(cache, { recursive: true, force: true });
      }
      log(`${c.name} cold ${i + 1}`);
    }
    if (!BOOT_ONLY) rows.push(cold);

    // Warm: fill each tool's cache once, then rebuild with the outputs deleted.
    for (const tool of ["kiln", "linuxkit"] as const)
      await build(tool, request(tool, "prime", ["kernel+initrd"], warmCache[tool]));
    const warm: Row = { yaml: c.name, what: "warm build, kernel+initrd", kiln: [], linuxkit: [] };
    // kiln keeps each container image's deflated initrd piece in its cache; this row empties that first, so
    // kiln starts from its image cache alone, as LinuxKit does (LinuxKit's figure is its one warm build).
    const warmImages: Row = {
      yaml: c.name,
      what: "warm build, kernel+initrd, kiln's initrd pieces deleted first",
      kiln: [],
      linuxkit: [],
    };
    const noop: Row = { yaml: c.name, what: "no-op rebuild (outputs in place)", kiln: [], linuxkit: [] };
    for (let i = 0; i < (BOOT_ONLY ? 1 : RUNS); i++) {
      for (const tool of i % 2 ? (["linuxkit", "kiln"] as const) : (["kiln", "linuxkit"] as const)) {
        if (tool === "kiln" && !BOOT_ONLY) {
          await rm(dir(tool, "warm"), { recursive: true, force: true });
          await rm(join(warmCache.kiln, "initrd-pieces"), { recursive: true, force: true });
          warmImages.kiln.push(
            sample(await build(tool, request(tool, "warm", ["kernel+initrd"], warmCache.kiln))),
          );
        }
        await rm(dir(tool, "warm"), { recursive: true, force: true });
        const w = sample(await build(tool, request(tool, "warm", ["kernel+initrd"], warmCache[tool])));
        warm[tool].push(w);
        if (tool === "linuxkit") warmImages.linuxkit.push(w);
        noop[tool].push(sample(await build(tool, request(tool, "warm", ["kernel+initrd"], warmCache[tool]))));
      }
      log(`${c.name} warm ${i + 1}`);
    }
    if (!BOOT_ONLY) rows.push(warm, warmImages, noop);
    for (const tool of ["kiln", "linuxkit"] as const) {
      const bytes = (await stat(join(dir(tool, "warm"), "minio-initrd.img"))).size;
      sizes.push({ yaml: c.name, tool, compression: "gzip", bytes });
    }

    // iso-efi: kiln only.
    const iso: Row = { yaml: c.name, what: "cold build, iso-efi", kiln: [], linuxkit: [] };
    for (let i = 0; i < (BOOT_ONLY ? 0 : RUNS); i++) {
      const cache = join(work, c.name, `kiln-iso-cold-${i}`);
      await rm(dir("kiln", "iso-cold"), { recursive: true, force: true });
      iso.kiln.push(sample(await buildWithKiln(request("kiln", "iso-cold", ["iso-efi"], cache))));
      await rm(cache, { recursive: true, force: true });
    }
    const isoWarm: Row = { yaml: c.name, what: "warm build, iso-efi", kiln: [], linuxkit: [] };
    for (let i = 0; i < (BOOT_ONLY ? 0 : RUNS); i++) {
      await rm(dir("kiln", "iso-warm"), { recursive: true, force: true });
      isoWarm.kiln.push(
        sample(await buildWithKiln(request("kiln", "iso-warm", ["iso-efi"], warmCache.kiln))),
      );
    }
    if (!BOOT_ONLY) rows.push(iso, isoWarm);

    // kiln's other initrd compressions, from the warm cache.
    for (const compression of BOOT_ONLY ? [] : ["zstd", "xz"]) {
      const r = request("kiln", `initrd-${compression}`, ["kernel+initrd"], warmCache.kiln, [
        "--compression",
        compression,
      ]);
      await buildWithKiln(r);
      const bytes = (await stat(join(r.dir, "minio-initrd.img"))).size;
      sizes.push({ yaml: c.name, tool: "kiln", compression, bytes });
    }

    // Boot to "S3 ready": the MinIO appliance built by each, alternating.
    if (c.name === "minio" && !values["no-boot"]) {
      for (let i = 0; i < BOOTS; i++) {
        for (const tool of i % 2 ? (["linuxkit", "kiln"] as const) : (["kiln", "linuxkit"] as const)) {
          const out = dir(tool, "warm");
          const appliance: Appliance = {
            dir: out,
            kernel: join(out, "minio-kernel"),
            initrd: join(out, "minio-initrd.img"),
            cmdline: join(out, "minio-cmdline"),
            iso: "",
            efiIso: "",
          };
          const disk = join(work, `boot-${tool}-${i}.qcow2`);
          const vm = await bootAppliance({
            appliance,
            format: "kernel+initrd",
            disk,
            credentials: { user: "benchuser", password: "bench-password-0123" },
            label: `bench-${tool}-${i}`,
            timeoutMs: 15 * 60_000,
          });
          boots.push({ tool, secs: vm.bootMs / 1000 });
          await vm[Symbol.asyncDispose]();
          await rm(disk, { force: true });
          log(`boot ${tool} ${i + 1}/${BOOTS}: ${(vm.bootMs / 1000).toFixed(1)} s`);
        }
      }
    }
  }
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}

// The report.
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0]!;
  } catch {
    return "?";
  }
};
const machine = `${sh("sh", ["-c", ". /etc/os-release && echo $PRETTY_NAME"])}, ${availableParallelism()} vCPUs (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`;
const versions = [
  `kiln ${sh("node", [KILN_BIN, "--version"])} (${sh("git", ["-C", REPO_ROOT, "rev-parse", "--short", "HEAD"])})`,
  `LinuxKit ${sh(linuxkit, ["version"]).replace(/^linuxkit version /, "")}`,
  `Node ${process.version}`,
  sh("qemu-system-x86_64", ["--version"]),
  sh("docker-registry", ["--version"]),
].join(", ");
const out: string[] = [];
out.push(`Machine: ${machine}. Load average at the end: ${sh("cat", ["/proc/loadavg"])}.`);
out.push(`Versions: ${versions}.`);
out.push(
  `Runs: ${RUNS} per cell, alternating kiln and LinuxKit; medians; wall and CPU (user + system) time in seconds; peak RSS in MiB.`,
);
out.push("");
out.push(
  "| YAML | what | kiln (s) | LinuxKit (s) | kiln/LinuxKit | kiln CPU (s) | LinuxKit CPU (s) | CPU ratio | kiln RSS (MiB) | LinuxKit RSS (MiB) | RSS ratio |",
);
out.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
const stats = (xs: readonly Sample[]) => ({
  secs: median(xs.map((s) => s.secs)),
  cpu: median(xs.map((s) => s.cpuSecs)),
  rss: median(xs.map((s) => s.rssMiB)),
});
for (const r of rows) {
  const k = stats(r.kiln);
  const l = r.linuxkit.length > 0 ? stats(r.linuxkit) : undefined;
  const cell = (v: (x: ReturnType<typeof stats>) => number, d: number) =>
    l ? `${f(v(l), d)} | ${f(v(k) / v(l))}` : "n/a | n/a";
  out.push(
    `| ${r.yaml} | ${r.what} | ${f(k.secs)} | ${cell((x) => x.secs, 2)} | ${f(k.cpu)} | ${cell((x) => x.cpu, 2)} | ${f(k.rss, 0)} | ${cell((x) => x.rss, 0)} |`,
  );
}
out.push("");
out.push("| YAML | initrd | bytes | MiB | vs LinuxKit's gzip |");
out.push("| --- | --- | --- | --- | --- |");
for (const s of sizes) {
  const lk = sizes.find((x) => x.yaml === s.yaml && x.tool === "linuxkit")!.bytes;
  out.push(
    `| ${s.yaml} | ${s.tool} ${s.compression} | ${s.bytes} | ${f(s.bytes / 2 ** 20, 1)} | ${f(s.bytes / lk, 3)} |`,
  );
}
if (boots.length > 0) {
  out.push("");
  const kb = boots.filter((b) => b.tool === "kiln").map((b) => b.secs);
  const lb = boots.filter((b) => b.tool === "linuxkit").map((b) => b.secs);
  out.push(
    "| boot to S3 ready (kernel+initrd, TCG, 1 vCPU, 2 GiB) | kiln-built (s) | LinuxKit-built (s) | ratio |",
  );
  out.push("| --- | --- | --- | --- |");
  out.push(
    `| MinIO appliance, ${kb.length} boot(s) each | ${f(median(kb), 1)} | ${f(median(lb), 1)} | ${f(median(kb) / median(lb))} |`,
  );
}
console.log(out.join("\n"));
const results = join(REPO_ROOT, "test-results", "bench");
await mkdir(results, { recursive: true });
await writeFile(
  join(results, "kiln-vs-linuxkit.json"),
  `${JSON.stringify({ at: new Date().toISOString(), machine, versions, runs: RUNS, rows, sizes, boots }, null, 2)}\n`,
);
