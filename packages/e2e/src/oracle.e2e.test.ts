// The compatibility oracle, against LinuxKit v1.8.2 itself: each YAML of the corpus is built by both tools from
// the same images in a loopback registry, and the outputs are compared part by part (per container its
// config.json and runtime.json bytes and its tree; the kernel, cmdline and the rest of the root filesystem).
// Every difference must be one docs/compatibility.md lists. Then the minimal appliance is built as
// kernel+initrd by both and booted: the two consoles must tell the same story.
//
// LinuxKit is built from source by bench/linuxkit-peer.sh. On a machine with no LinuxKit source (the Go module
// proxy does not serve its command), every test here is skipped with the script's explanation.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OciCache } from "@kiln/builder";
import { startRegistry, type TestRegistry } from "@kiln/builder/testing";
import { startVm } from "@kiln/runner";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import {
  type BootFilesResult,
  type BootTranscript,
  bootTranscript,
  compareKernelInitrd,
  compareTar,
  compareTarKernelInitrd,
  describe as describeResult,
  type OracleResult,
} from "./oracle.js";
import {
  goldenCase,
  goldenInputs,
  MINIMAL_HELLO,
  minimalCase,
  minioCase,
  type OracleCase,
  rootfsCase,
  UPPER_FILE,
  UPPER_TEXT,
  upperLayerCase,
} from "./oracle-corpus.js";
import { APPLIANCE_PACKAGES, type PushedPackage, pushPackages } from "./oracle-images.js";
import { KNOWN_DIFFERENCES } from "./oracle-known.js";
import { linuxkitPeer, type PeerStatus } from "./oracle-peers.js";
import { imageCacheDir, resultsDir } from "./paths.js";
import { recordTiming } from "./timings.js";

let peer: PeerStatus = { available: false, reason: "not looked for yet" };
let registry: TestRegistry | undefined;
let refs: Map<string, PushedPackage>;
let work: string;
let scratch: OciCache;
const seen = new Set<string>();
let compared = 0;

beforeAll(async () => {
  const started = Date.now();
  peer = await linuxkitPeer();
  if (!peer.available) return;
  await recordTiming("oracle-linuxkit-peer", Date.now() - started);
  work = await mkdtemp(join(tmpdir(), "kiln-oracle-"));
  scratch = await OciCache.open(join(work, "scratch-layout"));
  registry = await startRegistry();
  refs = await pushPackages(registry.host, APPLIANCE_PACKAGES, {
    cache: await OciCache.open(imageCacheDir()),
  });
}, 60 * 60_000);

afterAll(async () => {
  await registry?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
}, 120_000);

function needPeer(ctx: TestContext): string {
  if (!peer.available) ctx.skip(peer.reason);
  return (peer as { binary: string }).binary;
}

async function record(r: OracleResult): Promise<void> {
  for (const id of r.triage.explained.keys()) seen.add(id);
  const dir = join(resultsDir(), "oracle");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${r.case.replaceAll("/", "-")}.txt`), `${describeResult(r)}\n`);
}

async function checkTar(ctx: TestContext, make: () => Promise<OracleCase>): Promise<void> {
  const linuxkit = needPeer(ctx);
  const c = await make();
  const dir = join(work, "tar", c.name);
  const r = await compareTar(c, {
    linuxkit,
    registry: registry!.host,
    dir,
    linuxkitCache: join(work, "linuxkit-cache"),
    kilnCache: join(work, "kiln-cache"),
  });
  await record(r);
  expect(r.triage.unexplained, describeResult(r)).toEqual([]);
  compared++;
  await rm(dir, { recursive: true, force: true });
}

describe("-f tar: kiln's output against LinuxKit's", () => {
  it("examples/minio.yml", (ctx) => checkTar(ctx, async () => minioCase(refs)));
  it("the minimal appliance", (ctx) => checkTar(ctx, async () => minimalCase(refs)));
  it("kernel, init, files, volumes and all three container sections", (ctx) =>
    checkTar(ctx, () => rootfsCase(registry!.host, scratch)));
  for (const g of goldenInputs()) {
    it(`golden/${g.name}`, (ctx) => checkTar(ctx, () => goldenCase(registry!.host, scratch, g)));
  }

  it("every known difference still occurs somewhere in the corpus", (ctx) => {
    needPeer(ctx);
    if (compared < 3 + goldenInputs().length) ctx.skip("not every case was compared");
    const stale = KNOWN_DIFFERENCES.filter((k) => !seen.has(k.id)).map((k) => k.id);
    // opaque-whiteout comes from the rootfs case alone.
    expect(stale).toEqual([]);
  });
});

const kernelInitrd = new Map<string, Promise<BootFilesResult>>();
/** Both tools' kernel+initrd of a case, built once for the tests that need them. */
function buildKernelInitrd(linuxkit: string, c: OracleCase): Promise<BootFilesResult> {
  let p = kernelInitrd.get(c.name);
  if (!p) {
    p = compareKernelInitrd(c, {
      linuxkit,
      registry: registry!.host,
      dir: join(work, "kernel-initrd", c.name),
      linuxkitCache: join(work, "linuxkit-cache"),
      kilnCache: join(work, "kiln-cache"),
    });
    kernelInitrd.set(c.name, p);
  }
  return p;
}

describe("kernel+initrd", () => {
  it("a file an image's upper layer adds to a lower layer's directory is there at boot from kiln's initrd, and not from LinuxKit's", async (ctx) => {
    const linuxkit = needPeer(ctx);
    const c = await upperLayerCase(registry!.host, scratch, await OciCache.open(imageCacheDir()), refs);
    const built = await buildKernelInitrd(linuxkit, c);
    // The same files in both initrds; only their order differs (the known parents-first difference).
    expect(built.triage.unexplained, describeResult(built)).toEqual([]);
    const said: Record<string, string[] | undefined> = {};
    await mkdir(join(resultsDir(), "oracle"), { recursive: true });
    for (const side of ["linuxkit", "kiln"] as const) {
      await using vm = await startVm({
        prefix: built.prefixes[side],
        mem: 512,
        cpus: 1,
        console: "capture",
        networking: "none",
      });
      await Promise.race([vm.exited, new Promise((resolve) => setTimeout(resolve, 8 * 60_000))]);
      await writeFile(join(resultsDir(), "oracle", `upper-layer-boot-${side}.console.log`), vm.console);
      said[side] = bootTranscript(vm.console).containers["000-upper"];
    }
    expect(said.kiln).toEqual([UPPER_TEXT]);
    // LinuxKit's initrd has the file before its directory, and the kernel's unpacker does not make parents.
    expect(said.linuxkit).toEqual([`cat: can't open '${UPPER_FILE}': No such file or directory`]);
  });

  it("minimal, MinIO and rootfs (with microcode): the same kernel, cmdline and initrd files", async (ctx) => {
    const linuxkit = needPeer(ctx);
    for (const c of [minimalCase(refs), minioCase(refs), await rootfsCase(registry!.host, scratch)]) {
      const r = await buildKernelInitrd(linuxkit, c);
      await record({ ...r, case: `${c.name}-kernel-initrd` });
      expect(r.triage.unexplained, describeResult(r)).toEqual([]);
      // The same files, gzip'd: kiln's initrd is no larger than LinuxKit's.
      expect(r.initrdBytes.kiln).toBeLessThanOrEqual(r.initrdBytes.linuxkit);
    }
  });

  it("tar-kernel-initrd of the rootfs case (with microcode): the same members and initrd files", async (ctx) => {
    const linuxkit = needPeer(ctx);
    const c = await rootfsCase(registry!.host, scratch);
    const r = await compareTarKernelInitrd(c, {
      linuxkit,
      registry: registry!.host,
      dir: join(work, "tar-kernel-initrd", c.name),
      linuxkitCache: join(work, "linuxkit-cache"),
      kilnCache: join(work, "kiln-cache"),
    });
    await record({ ...r, case: `${c.name}-tar-kernel-initrd` });
    expect(r.triage.unexplained, describeResult(r)).toEqual([]);
  });

  it("the minimal appliance boots the same from either tool's kernel+initrd", async (ctx) => {
    const built = await buildKernelInitrd(needPeer(ctx), minimalCase(refs));
    const transcripts: Record<string, BootTranscript> = {};
    for (const side of ["linuxkit", "kiln"] as const) {
      await using vm = await startVm({
        prefix: built.prefixes[side],
        mem: 512,
        cpus: 1,
        console: "capture",
        networking: "none",
      });
      const exit = await Promise.race([
        vm.exited,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 8 * 60_000)),
      ]);
      await mkdir(join(resultsDir(), "oracle"), { recursive: true });
      await writeFile(join(resultsDir(), "oracle", `minimal-boot-${side}.console.log`), vm.console);
      expect(
        exit?.reason,
        `${side}'s appliance did not power itself off:\n${vm.consoleTail(30).join("\n")}`,
      ).toBe("poweroff");
      transcripts[side] = bootTranscript(vm.console);
    }
    expect(transcripts.kiln!.containers["000-hello"]).toEqual([MINIMAL_HELLO]);
    expect(transcripts.kiln!.init).toContain("kiln-init: onboot 001-poweroff: started");
    expect(transcripts.kiln).toEqual(transcripts.linuxkit);
  });
});
