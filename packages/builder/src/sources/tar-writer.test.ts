import { Readable } from "node:stream";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import type { Entry } from "../flatten/entry.js";
import { readHeader } from "../flatten/header.js";
import { readTar } from "../flatten/tar-reader.js";
import { TarWriter } from "./tar-writer.js";

const mtime = new Date("2017-04-18T16:30:00Z");
const base = { mode: 0o644, uid: 0, gid: 0, mtime, size: 0 };
const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00]);

const entries: Array<{ entry: Entry; body?: Buffer }> = [
  { entry: { ...base, path: "dir", type: "directory", mode: 0o755 } },
  { entry: { ...base, path: "dir/file", type: "file", size: 5 }, body: Buffer.from("hello") },
  {
    entry: { ...base, path: `${"d".repeat(90)}/${"n".repeat(120)}`, type: "file", size: 1 },
    body: Buffer.from("x"),
  },
  { entry: { ...base, path: "d/ünïcödé", type: "file", size: 2 }, body: Buffer.from("hi") },
  {
    entry: {
      ...base,
      path: "bin/ping",
      type: "file",
      mode: 0o4755,
      size: 3,
      xattrs: { "security.capability": cap },
    },
    body: Buffer.from("elf"),
  },
  { entry: { ...base, path: "link", type: "link", linkname: "dir/file" } },
  { entry: { ...base, path: "sym", type: "symlink", linkname: "/".repeat(1) + "l".repeat(150) } },
  { entry: { ...base, path: "dev/null", type: "character-device", mode: 0o666, devmajor: 1, devminor: 3 } },
  { entry: { ...base, path: "fifo", type: "fifo" } },
  {
    entry: {
      ...base,
      path: "big-ids",
      type: "file",
      uid: 3_000_000,
      gid: 70_000,
      uname: "someone",
      gname: "grp",
    },
  },
];

async function write(list: typeof entries): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const tar = new TarWriter(async (c) => {
    chunks.push(Buffer.from(c));
  });
  for (const { entry, body } of list)
    await tar.add(entry, body === undefined ? undefined : Readable.from([body]));
  await tar.finish();
  return Buffer.concat(chunks);
}

describe("TarWriter", () => {
  test("round-trips every entry type, long and non-ASCII names, big ids and binary xattrs", async () => {
    const bytes = await write(entries);
    expect(bytes.length % 512).toBe(0);
    const seen: Entry[] = [];
    for await (const item of readTar(Readable.from([bytes]))) {
      const read = readHeader(item.header, item.paxRaw, "sha256:test");
      item.stream.resume();
      await item.state.settled;
      if (read.kind === "entry") seen.push(read.entry);
    }
    expect(seen.map((e) => e.path)).toEqual(entries.map((e) => e.entry.path));
    const ping = seen.find((e) => e.path === "bin/ping")!;
    expect(ping.mode).toBe(0o4755);
    expect(ping.xattrs?.["security.capability"]).toEqual(cap);
    expect(seen.find((e) => e.path === "big-ids")).toMatchObject({
      uid: 3_000_000,
      gid: 70_000,
      uname: "someone",
    });
    expect(seen.find((e) => e.path === "sym")?.linkname).toBe(`/${"l".repeat(150)}`);
    expect(seen.find((e) => e.path === "dev/null")).toMatchObject({ devmajor: 1, devminor: 3 });
  });

  test("GNU tar reads it", async () => {
    const { stdout } = await execa("tar", ["-tvf", "-", "--numeric-owner"], { input: await write(entries) });
    const lines = stdout.split("\n");
    expect(lines).toHaveLength(entries.length);
    expect(lines[1]).toMatch(/^-rw-r--r-- 0\/0 +5 2017-04-18 16:30 dir\/file$/);
    expect(lines[2]).toContain(`${"d".repeat(90)}/${"n".repeat(120)}`);
    expect(lines[3]).toContain("d/ünïcödé");
    expect(lines[4]).toMatch(/^-rwsr-xr-x .* bin\/ping$/);
    expect(lines[5]).toMatch(/^hrw-r--r-- .* link link to dir\/file$/);
    expect(lines[7]).toMatch(/^crw-rw-rw- 0\/0 +1,3 .* dev\/null$/);
    expect(lines[9]).toMatch(/^-rw-r--r-- 3000000\/70000 /);
  });

  test("the same entries always give the same bytes", async () => {
    expect((await write(entries)).equals(await write(entries))).toBe(true);
  });

  test("a body shorter or longer than its size is an error, not a corrupt archive", async () => {
    const tar = new TarWriter(async () => {});
    await expect(
      tar.add({ ...base, path: "f", type: "file", size: 10 }, Readable.from([Buffer.from("short")])),
    ).rejects.toThrow(/f: expected 10 bytes of contents, got 5/);
    await expect(
      new TarWriter(async () => {}).add(
        { ...base, path: "g", type: "file", size: 2 },
        Readable.from([Buffer.from("long")]),
      ),
    ).rejects.toThrow(/g: expected 2 bytes/);
  });
});
