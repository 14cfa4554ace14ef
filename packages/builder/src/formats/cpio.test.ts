import { lstat, mkdtemp, readFile, readlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { KilnError } from "@kiln/spec";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import type { Entry, FlatEntry } from "../flatten/entry.js";
import { cpioLink, writeCpio } from "./cpio.js";

const T = new Date("2017-04-18T16:30:00Z");

function e(path: string, type: Entry["type"], extra: Partial<Entry> = {}): Entry {
  return {
    path,
    type,
    mode: type === "directory" ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: T,
    size: 0,
    ...extra,
  };
}
function file(path: string, content: string, extra: Partial<Entry> = {}): FlatEntry {
  const buf = Buffer.from(content);
  return { entry: e(path, "file", { size: buf.length, ...extra }), body: Readable.from([buf]) };
}

async function* stream(list: FlatEntry[]): AsyncGenerator<FlatEntry> {
  yield* list;
}

async function cpioOf(list: FlatEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of writeCpio(stream(list))) chunks.push(c);
  return Buffer.concat(chunks);
}

const TREE = (): FlatEntry[] => [
  { entry: e("bin", "directory") },
  file("bin/busybox", "#!busybox\n", { mode: 0o755 }),
  { entry: e("bin/sh", "link", { linkname: "bin/busybox", mode: 0o755 }) },
  { entry: e("bin/ls", "symlink", { linkname: "busybox", mode: 0o777 }) },
  { entry: e("dev", "directory") },
  { entry: e("dev/null", "character-device", { devmajor: 1, devminor: 3, mode: 0o666 }) },
  { entry: e("dev/sda", "block-device", { devmajor: 8, devminor: 0, mode: 0o660 }) },
  { entry: e("run", "directory") },
  { entry: e("run/fifo", "fifo", { mode: 0o600 }) },
  { entry: e("home", "directory") },
  { entry: e("home/user", "directory", { uid: 1000, gid: 1000, mode: 0o700 }) },
  file("home/user/notes", "three bytes, not a multiple of four!", { uid: 1000, gid: 1000, mode: 0o640 }),
  { entry: e("sbin", "directory") },
  { entry: e("sbin/deep-link", "link", { linkname: "bin/busybox", mode: 0o755 }) },
  file("empty", ""),
];

describe("newc cpio", () => {
  test("GNU cpio lists every entry with its type, mode, owner and size", async () => {
    const archive = await cpioOf(TREE());
    expect(archive.length % 512).toBe(0);
    const { stdout } = await execa("cpio", ["-itvn", "--quiet"], { input: archive });
    const lines = stdout.split("\n").map((l) => l.replace(/\s+/g, " "));
    expect(lines).toHaveLength(15);
    expect(lines[1]).toMatch(/^-rwxr-xr-x 1 0 0 10 Apr 18 2017 bin\/busybox$/);
    expect(lines[2]).toMatch(/^lrwxr-xr-x 1 0 0 7 Apr 18 2017 bin\/sh -> busybox$/);
    expect(lines[5]).toMatch(/^crw-rw-rw- 1 0 0 1, 3 Apr 18 2017 dev\/null$/);
    expect(lines[6]).toMatch(/^brw-rw---- 1 0 0 8, 0 Apr 18 2017 dev\/sda$/);
    expect(lines[8]).toMatch(/^prw------- 1 0 0 0 Apr 18 2017 run\/fifo$/);
    expect(lines[10]).toMatch(/^drwx------ 2 1000 1000 0 Apr 18 2017 home\/user$/);
    expect(lines[13]).toMatch(/sbin\/deep-link -> \.\.\/bin\/busybox$/);
  });

  test("cpio -idm gives back the tree: contents, links, modes, owners and times", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kiln-cpio-"));
    await execa("cpio", ["-idm", "--quiet", "--no-absolute-filenames"], {
      input: await cpioOf(TREE()),
      cwd: dir,
    });
    expect(await readFile(join(dir, "bin/busybox"), "utf8")).toBe("#!busybox\n");
    expect(await readlink(join(dir, "bin/sh"))).toBe("busybox");
    expect(await readlink(join(dir, "bin/ls"))).toBe("busybox");
    expect(await readlink(join(dir, "sbin/deep-link"))).toBe("../bin/busybox");
    expect(await readFile(join(dir, "sbin/deep-link"), "utf8")).toBe("#!busybox\n");
    expect(await readFile(join(dir, "home/user/notes"), "utf8")).toBe("three bytes, not a multiple of four!");
    const notes = await lstat(join(dir, "home/user/notes"));
    expect(notes.mode & 0o7777).toBe(0o640);
    expect(notes.uid).toBe(1000);
    expect(notes.mtimeMs).toBe(T.getTime());
    expect((await lstat(join(dir, "run/fifo"))).isFIFO()).toBe(true);
    expect((await lstat(join(dir, "empty"))).size).toBe(0);
    expect((await lstat(join(dir, "dev/null"))).isCharacterDevice()).toBe(true);
  });

  test("header fields are gocpio's: inodes from 721, nlink 2 for directories, device 3:1, trailer mode 0", async () => {
    const archive = await cpioOf([{ entry: e("d", "directory") }, file("f", "x")]);
    const field = (offset: number, i: number) =>
      Number.parseInt(archive.toString("latin1", offset + 6 + 8 * i, offset + 14 + 8 * i), 16);
    expect(archive.toString("latin1", 0, 6)).toBe("070701");
    expect([field(0, 0), field(0, 1), field(0, 4), field(0, 7), field(0, 8)]).toEqual([
      721, 0o40755, 2, 3, 1,
    ]);
    const second = 112; // 110-byte header + "d\0", already a multiple of 4
    expect([field(second, 0), field(second, 4), field(second, 6)]).toEqual([722, 1, 1]);
    const trailer = archive.indexOf("070701", second + 110);
    expect(archive.toString("latin1", trailer + 110, trailer + 120)).toBe("TRAILER!!!");
    expect([field(trailer, 0), field(trailer, 1)]).toEqual([723, 0]);
  });

  test("a file of 4 GiB or more is refused, naming it, before any of its body is read", async () => {
    let read = false;
    const body = new Readable({
      read() {
        read = true;
        this.push(Buffer.alloc(65536));
      },
    });
    const huge: FlatEntry = { entry: e("var/lib/huge.img", "file", { size: 2 ** 32 }), body };
    const err = await cpioOf([file("small", "ok"), huge]).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).message).toMatch(
      /"\/var\/lib\/huge.img" is 4.0 GiB; an initrd .* cannot hold a file of 4 GiB/,
    );
    expect((err as KilnError).hint).toMatch(/iso-efi/);
    expect(read).toBe(false);
    // One byte less still fits the format.
    expect(2 ** 32 - 1).toBeLessThanOrEqual(0xffffffff);
  });

  test("a body shorter than its entry says is an error, not a corrupt archive", async () => {
    const short: FlatEntry = {
      entry: e("short", "file", { size: 10 }),
      body: Readable.from([Buffer.from("abc")]),
    };
    await expect(cpioOf([short])).rejects.toThrow(/expected 10 bytes of contents, got 3/);
  });

  test("hard links become symlinks relative to the link's directory", () => {
    expect(cpioLink("bin/sh", "bin/busybox")).toBe("busybox");
    expect(cpioLink("a/b/c", "a/x/y")).toBe("../x/y");
    expect(cpioLink("top", "usr/bin/app")).toBe("usr/bin/app");
  });

  test("a large file streams through in bounded chunks", async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    async function* body() {
      for (let i = 0; i < 48; i++) yield chunk;
    }
    const big: FlatEntry = {
      entry: e("big", "file", { size: 48 * chunk.length }),
      body: Readable.from(body()),
    };
    let maxChunk = 0;
    const parts: Buffer[] = [];
    for await (const c of writeCpio(stream([big]))) {
      maxChunk = Math.max(maxChunk, c.length);
      parts.push(c);
    }
    expect(maxChunk).toBeLessThanOrEqual(256 * 1024 + chunk.length);
    const dir = await mkdtemp(join(tmpdir(), "kiln-cpio-big-"));
    await execa("cpio", ["-idm", "--quiet"], { input: Buffer.concat(parts), cwd: dir });
    expect((await lstat(join(dir, "big"))).size).toBe(48 * chunk.length);
  });
});
