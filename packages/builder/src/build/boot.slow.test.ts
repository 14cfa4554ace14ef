// The initrd kiln writes is one a real kernel unpacks and runs: Debian's kernel (scripts/test-kernel.sh),
// booted under QEMU from `kernel+initrd` outputs built with each compression.

import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { loadConfig } from "@kiln/spec";
import { beforeAll, describe, expect, test } from "vitest";
import { type LayerEntry, layerTar, putImage } from "../assemble/testdata/images.js";
import { OciCache } from "../cache/cache.js";
import type { Compression } from "../formats/compress.js";
import { RegistryClient } from "../registry/client.js";
import { ImageResolver } from "../resolve/resolver.js";
import { testKernel } from "../testing/boot-fixture.js";
import { buildAppliance } from "./build.js";

const MARKER = "KILN-INITRD-BOOTED";

let root: string;
let cache: OciCache;
let yamlPath: string;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(`${p}/`, ...(await walk(p)));
    else out.push(p);
  }
  return out;
}

function boot(kernel: string, initrd: string, cmdline: string): Promise<string> {
  const args = ["-accel", "tcg", "-m", "512", "-nographic", "-no-reboot", "-nic", "none"];
  args.push("-kernel", kernel, "-initrd", initrd, "-append", cmdline);
  const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
  let console = "";
  child.stdout.on("data", (c: Buffer) => {
    console += c.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(console);
    });
  });
}

beforeAll(async () => {
  const k = await testKernel();
  root = await mkdtemp(join(tmpdir(), "kiln-boot-"));
  cache = await OciCache.open(join(root, "cache"));
  const modules: LayerEntry[] = [];
  for (const p of await walk(join(k.dir, "lib"))) {
    const name = relative(k.dir, p) + (p.endsWith("/") ? "/" : "");
    modules.push(p.endsWith("/") ? { name, type: "directory" } : { name, content: await readFile(p) });
  }
  await putImage(cache, "example.com/kiln/kernel:test", {
    layers: [
      [
        { name: "kernel", content: await readFile(k.vmlinuz) },
        { name: "kernel.tar", content: await layerTar(modules) },
      ],
    ],
  });
  const init = [
    "#!/bin/busybox sh",
    "/bin/busybox mount -t proc proc /proc",
    `/bin/busybox echo ${MARKER} "$(/bin/busybox cat /etc/kiln-file)" "$(/bin/busybox readlink /bin/sh)"` +
      ' "$(/bin/busybox ls /lib/modules/*/kernel/drivers/virtio/virtio.ko | /bin/busybox wc -l)"' +
      ' "$(/bin/busybox cat /containers/onboot/000-hello/lower/hello)"',
    "/bin/busybox poweroff -f",
  ].join("\n");
  const busybox = await readFile("/bin/busybox");
  await putImage(cache, "example.com/kiln/init:test", {
    layers: [
      [
        { name: "bin/", type: "directory" },
        { name: "bin/busybox", content: busybox, mode: 0o755 },
        { name: "bin/sh", type: "link", linkname: "bin/busybox", mode: 0o755 },
        { name: "init", content: init, mode: 0o755 },
        { name: "proc/", type: "directory" },
      ],
    ],
  });
  await putImage(cache, "example.com/kiln/hello:test", {
    layers: [[{ name: "hello", content: "from-a-bundle" }]],
  });
  yamlPath = join(root, "boot.yml");
  await writeFile(
    yamlPath,
    [
      "kernel:",
      "  image: example.com/kiln/kernel:test",
      '  cmdline: "console=ttyS0 panic=-1 quiet"',
      "init:",
      "  - example.com/kiln/init:test",
      "onboot:",
      "  - name: hello",
      "    image: example.com/kiln/hello:test",
      "files:",
      "  - path: etc/kiln-file",
      "    contents: from-files",
      "",
    ].join("\n"),
  );
}, 600_000);

describe("a kiln initrd boots", () => {
  test.each<Compression>(["gzip", "zstd", "xz"])("%s", async (compression) => {
    const dir = join(root, compression);
    const text = await readFile(yamlPath, "utf8");
    await buildAppliance({
      loaded: loadConfig([{ name: yamlPath, text }]),
      formats: ["kernel+initrd"],
      name: "boot",
      dir,
      arch: "amd64",
      compression,
      resolver: new ImageResolver({ cache, client: new RegistryClient({}), arch: "amd64" }),
      cache,
      version: "test",
    });
    const console = await boot(
      join(dir, "boot-kernel"),
      join(dir, "boot-initrd.img"),
      await readFile(join(dir, "boot-cmdline"), "utf8"),
    );
    // The module tarball's files, `files:`, a hard link (as LinuxKit's relative symlink) and a bundle.
    expect(console).toContain(`${MARKER} from-files busybox 1 from-a-bundle`);
  });
});
