import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseDiskSpec } from "./disk-spec.js";
import { prepareDisks } from "./disks.js";
import { detectImageFormat } from "./image-format.js";
import { findTool } from "./tools.js";

const dir = mkdtempSync(join(tmpdir(), "kiln-disks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const qemuImg = () => findTool("qemu-img");
const virtualSize = (path: string) =>
  JSON.parse(execFileSync("qemu-img", ["info", "-U", "--output=json", path], { encoding: "utf8" }))[
    "virtual-size"
  ] as number;
const fingerprint = (path: string) => {
  const s = statSync(path);
  return {
    ino: s.ino,
    mtimeMs: s.mtimeMs,
    size: s.size,
    sha: createHash("sha256").update(readFileSync(path)).digest("hex"),
  };
};

describe("prepareDisks", () => {
  test("a missing disk is created, qcow2 by default, at the size asked", async () => {
    const state = mkdtempSync(join(dir, "s-"));
    const notes: string[] = [];
    const [d] = await prepareDisks([parseDiskSpec("new.img,size=64M")], {
      stateDir: state,
      cwd: dir,
      qemuImg,
      onNotice: (m) => notes.push(m),
    });
    expect(d).toEqual({ path: join(dir, "new.img"), format: "qcow2", interface: "virtio", created: true });
    expect(await detectImageFormat(d!.path)).toBe("qcow2");
    expect(virtualSize(d!.path)).toBe(64 << 20);
    expect(notes[0]).toMatch(/created qcow2 disk .*new.img \(64 MiB\)/);
  });

  test("format=raw makes a raw disk", async () => {
    const [d] = await prepareDisks([parseDiskSpec("r.img,size=8M,format=raw")], {
      stateDir: dir,
      cwd: dir,
      qemuImg,
    });
    expect(d!.format).toBe("raw");
    expect(statSync(d!.path).size).toBe(8 << 20);
  });

  test("an existing disk is never recreated, resized or rewritten", async () => {
    const path = join(dir, "keep.img");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path, "32M"]);
    const before = fingerprint(path);
    await new Promise((r) => setTimeout(r, 20));
    const [d] = await prepareDisks([parseDiskSpec(`${path},size=4G`)], { stateDir: dir, qemuImg });
    expect(d).toMatchObject({ path, format: "qcow2", created: false });
    expect(fingerprint(path)).toEqual(before);
    expect(virtualSize(path)).toBe(32 << 20);
  });

  test("an existing raw disk given a different size is used as it is, with a notice", async () => {
    const path = join(dir, "raw-keep.img");
    writeFileSync(path, Buffer.alloc(1 << 20, 9));
    const before = fingerprint(path);
    const notes: string[] = [];
    const [d] = await prepareDisks([{ path, sizeBytes: 1 << 30 }], {
      stateDir: dir,
      qemuImg,
      onNotice: (m) => notes.push(m),
    });
    expect(d).toMatchObject({ format: "raw", created: false });
    expect(fingerprint(path)).toEqual(before);
    expect(notes.join()).toMatch(/never resizes/);
  });

  test("format= that contradicts an existing file is an error, not a conversion", async () => {
    const path = join(dir, "q.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path, "16M"]);
    await expect(
      prepareDisks([parseDiskSpec(`${path},format=raw`)], { stateDir: dir, qemuImg }),
    ).rejects.toThrow(/the file is qcow2, not raw/);
  });

  test("sizes without paths live in the state directory under LinuxKit's names", async () => {
    const state = mkdtempSync(join(dir, "s-"));
    const disks = await prepareDisks([{ sizeBytes: 16 << 20 }, { sizeBytes: 16 << 20 }], {
      stateDir: state,
      qemuImg,
    });
    expect(disks.map((d) => d.path)).toEqual([join(state, "disk.img"), join(state, "disk1.img")]);
  });

  test("--disk-size fills in sizes (the seed post's --disk-size 4096 --disk disk1.img)", async () => {
    const cwd = mkdtempSync(join(dir, "seed-"));
    const [d] = await prepareDisks([parseDiskSpec("disk1.img")], {
      stateDir: cwd,
      cwd,
      defaultSizeBytes: 64 << 20,
      qemuImg,
    });
    expect(virtualSize(d!.path)).toBe(64 << 20);
  });

  test("a missing disk without a size, a directory, and a disk given twice are errors", async () => {
    await expect(
      prepareDisks([parseDiskSpec("absent.img")], { stateDir: dir, cwd: dir, qemuImg }),
    ).rejects.toThrow(/no such file, and no size/);
    mkdirSync(join(dir, "adir"), { recursive: true });
    await expect(prepareDisks([parseDiskSpec("adir")], { stateDir: dir, cwd: dir, qemuImg })).rejects.toThrow(
      /not a regular file/,
    );
    await expect(
      prepareDisks([parseDiskSpec("r.img"), parseDiskSpec(join(dir, "r.img"))], {
        stateDir: dir,
        cwd: dir,
        qemuImg,
      }),
    ).rejects.toThrow(/given twice/);
  });

  test("a failed creation leaves nothing behind", async () => {
    const cwd = mkdtempSync(join(dir, "fail-"));
    await expect(
      prepareDisks([{ path: "huge.img", sizeBytes: 2 ** 62 }], { stateDir: cwd, cwd, qemuImg }),
    ).rejects.toThrow(/qemu-img could not create/);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
