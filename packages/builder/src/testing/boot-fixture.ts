// Inputs for format and boot tests before `kiln build` exists: Debian's kernel (scripts/test-kernel.sh)
// and a busybox initrd whose /init prints a marker and powers off.

import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import type { FormatContext } from "../formats/types.js";
import type { ToolRunner } from "../tools/types.js";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
export const BOOT_MARKER = "KILN-BOOT-MARKER-7f3a";

/** Debian's kernel and module subset, fetched once per machine under $KILN_TEST_CACHE. */
export async function testKernel(): Promise<{ vmlinuz: string; dir: string }> {
  const dir = join(process.env.KILN_TEST_CACHE ?? "/tmp/kiln-test", "kernel");
  await run("bash", [join(REPO, "scripts/test-kernel.sh"), dir], { maxBuffer: 1 << 24 });
  return { vmlinuz: join(dir, "vmlinuz"), dir };
}

/**
 * A gzip'd newc initrd: /bin/busybox (static) and /init running `script` under busybox sh. `extra` maps
 * paths in the initrd to files to include (kernel modules, say).
 */
export async function busyboxInitrd(
  out: string,
  script: string,
  extra: Record<string, string> = {},
): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "kiln-initrd-"));
  try {
    await mkdir(join(root, "bin"));
    await copyFile("/bin/busybox", join(root, "bin/busybox"));
    await writeFile(join(root, "init"), `#!/bin/busybox sh\n${script}\n`);
    await chmod(join(root, "init"), 0o755);
    for (const [path, source] of Object.entries(extra)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await copyFile(source, join(root, path));
    }
    const { stdout: list } = await run("find", [".", "-mindepth", "1"], { cwd: root });
    const names = list.split("\n").filter(Boolean).sort();
    // Fixed times and --reproducible (no inode or device numbers) make the same initrd every time.
    const time = new Date("2017-04-18T16:30:00Z");
    for (const name of names) await utimes(join(root, name), time, time);
    const cpio = await new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        "cpio",
        ["-o", "-H", "newc", "--quiet", "--reproducible", "-R", "0:0"],
        { cwd: root, encoding: "buffer", maxBuffer: 1 << 28 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
      child.stdin?.end(`${names.join("\n")}\n`);
    });
    await writeFile(out, gzipSync(cpio));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The /init that proves a boot reached userspace: the marker on the console, then power off. */
export const markerInit = `/bin/busybox echo ${BOOT_MARKER}\n/bin/busybox poweroff -f`;

export interface TarFixtureEntry {
  name: string;
  type?: "file" | "directory" | "symlink";
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

/** An appliance-style tar (no leading ./, as LinuxKit writes it) with owners and times as given. */
export async function applianceTar(out: string, entries: readonly TarFixtureEntry[]): Promise<void> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => p.on("end", () => resolve()));
  for (const e of entries) {
    const type = e.type ?? "file";
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date("2017-04-18T16:30:00Z"),
      ...(type === "symlink" ? { linkname: e.linkname ?? "" } : {}),
    };
    if (type === "file") p.entry(header, e.content ?? "");
    else p.entry(header);
  }
  p.finalize();
  await done;
  await writeFile(out, Buffer.concat(chunks));
}

export interface FixtureContextOptions {
  name?: string;
  workDir: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  tools: ToolRunner;
  size?: number;
  mtime?: Date;
  rootfsTar?: string;
  signal?: AbortSignal;
}

/** A FormatContext over files on disk, as the build will hand one to a writer. */
export function fixtureContext(o: FixtureContextOptions): FormatContext {
  return {
    name: o.name ?? "test",
    workDir: o.workDir,
    kernel: o.kernel,
    cmdline: o.cmdline,
    initrd: async () => o.initrd,
    rootfsTar: async () => {
      if (!o.rootfsTar) throw new Error("this fixture has no rootfs tar");
      return o.rootfsTar;
    },
    size: o.size ?? 1024 * 1024 * 1024,
    arch: "amd64",
    tools: o.tools,
    signal: o.signal ?? new AbortController().signal,
    mtime: o.mtime ?? new Date("2017-04-18T16:30:00Z"),
  };
}
