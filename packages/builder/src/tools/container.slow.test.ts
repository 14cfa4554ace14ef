// The builder image (images/builder, built by kiln pkg build and loaded into a real Docker engine) gives
// the same bytes as this machine's own tools, for every format that runs tools.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { KilnError } from "@kiln/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciCache } from "../cache/cache.js";
import { isoBiosFormat } from "../formats/iso-bios.js";
import { isoEfiFormat, isoEfiInitrdFormat } from "../formats/iso-efi.js";
import { kernelSquashfsFormat } from "../formats/kernel-squashfs.js";
import { qcow2BiosFormat, qcow2EfiFormat } from "../formats/qcow2.js";
import { rawBiosFormat } from "../formats/raw-bios.js";
import { rawEfiFormat } from "../formats/raw-efi.js";
import type { FormatWriter } from "../formats/types.js";
import { vhdFormat } from "../formats/vhd.js";
import { vmdkFormat } from "../formats/vmdk.js";
import { applianceTar, busyboxInitrd, fixtureContext, markerInit } from "../testing/boot-fixture.js";
import { startDockerEngine, type TestDockerEngine } from "../testing/docker-engine.js";
import { ContainerToolRunner } from "./container.js";
import { NativeToolRunner } from "./native.js";
import type { ToolRunner } from "./types.js";

const TEST_CACHE = process.env.KILN_TEST_CACHE ?? "/tmp/kiln-test";
const WRITERS: FormatWriter[] = [
  rawBiosFormat,
  rawEfiFormat,
  isoBiosFormat,
  isoEfiFormat,
  isoEfiInitrdFormat,
  qcow2BiosFormat,
  qcow2EfiFormat,
  vhdFormat,
  vmdkFormat,
  kernelSquashfsFormat,
];

let root: string;
let engine: TestDockerEngine;
let container: ContainerToolRunner;
const native = new NativeToolRunner();
const inputs = { kernel: "", initrd: "", rootfsTar: "" };

async function build(w: FormatWriter, dir: string, tools: ToolRunner): Promise<string[]> {
  const workDir = await mkdtemp(join(root, "work-"));
  await mkdir(dir, { recursive: true });
  try {
    const finals = w.outputs("kiln").map((n) => join(dir, n));
    const temps = finals.map((f) => `${f}.tmp`);
    const ctx = fixtureContext({
      name: "kiln",
      workDir,
      ...inputs,
      cmdline: "console=ttyS0",
      tools,
      size: 96 << 20,
    });
    await w.write(ctx, temps);
    for (const [i, t] of temps.entries()) await rename(t, finals[i]!);
    return finals;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kiln-container-"));
  engine = await startDockerEngine();
  const cache = await OciCache.open(join(TEST_CACHE, "cache"));
  container = new ContainerToolRunner({ cache, dockerHost: engine.host, log: (l) => console.log(l) });
  const started = Date.now();
  await container.require(["xorriso"]);
  console.log(
    `builder image ${await container.image()} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  inputs.kernel = join(root, "vmlinuz");
  inputs.initrd = join(root, "initrd.img");
  inputs.rootfsTar = join(root, "rootfs.tar");
  await writeFile(inputs.kernel, Buffer.alloc(3 << 20, "kiln stand-in kernel "));
  await busyboxInitrd(inputs.initrd, markerInit);
  await applianceTar(inputs.rootfsTar, [
    { name: "etc", type: "directory" },
    { name: "etc/motd", content: "hello\n", uid: 1000, gid: 1000, mtime: new Date("2021-05-06T07:08:09Z") },
  ]);
}, 900_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("--builder container", () => {
  it("writes the same bytes as --builder native for every format", async () => {
    for (const w of WRITERS) {
      const t0 = Date.now();
      const mine = await build(w, join(root, "native"), native);
      const t1 = Date.now();
      const theirs = await build(w, join(root, "container"), container);
      const t2 = Date.now();
      console.log(`${w.name}: native ${t1 - t0} ms, container ${t2 - t1} ms`);
      for (const [i, path] of theirs.entries()) {
        expect(await sha256(path), `${w.name}: ${basename(path)}`).toBe(await sha256(mine[i]!));
      }
    }
  });

  it("runs tools as the calling user, so their files are owned as if made natively", async () => {
    const r = await container.run({
      tool: "sh",
      args: ["-c", "touch owned && stat -c %u:%g owned"],
      paths: [root],
      cwd: root,
    });
    expect(r.stdout.trim()).toBe(`${process.getuid?.()}:${process.getgid?.()}`);
  });

  it("has no network inside the container", async () => {
    const r = await container.run({
      tool: "sh",
      args: ["-c", "cat /sys/class/net/*/operstate | wc -l"],
      paths: [],
    });
    expect(r.stdout.trim()).toBe("1"); // loopback only
  });

  it("names the builder image when a tool is not in it", async () => {
    const e = await container.run({ tool: "genisoimage", args: [], paths: [] }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).message).toContain(
      `the builder image ${await container.image()} lacks genisoimage`,
    );
  });

  it("removes the container when the build is aborted", async () => {
    const abort = new AbortController();
    const running = container.run({ tool: "sleep", args: ["60"], paths: [], signal: abort.signal });
    setTimeout(() => abort.abort(new Error("interrupted")), 2_000);
    await expect(running).rejects.toThrow("interrupted");
    const ps = await engine.docker([
      "ps",
      "-a",
      "--filter",
      `name=kiln-tool-${process.pid}-`,
      "--format",
      "{{.Names}}",
    ]);
    expect(String(ps.stdout).trim()).toBe("");
  });

  it("says how to get an image that is not in the engine", async () => {
    const missing = new ContainerToolRunner({ image: "kiln.local/pkg/nothing:0", dockerHost: engine.host });
    const e = await missing.require(["xorriso"]).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).message).toBe("the image kiln.local/pkg/nothing:0 is not in the Docker engine");
    expect((e as KilnError).hint).toContain("--builder native");
  });
});
