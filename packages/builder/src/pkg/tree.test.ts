import { mkdtempSync, rmSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { KilnError } from "@kiln/spec";
import { execa } from "execa";
import { afterAll, describe, expect, test } from "vitest";
import { writeLayer } from "./layer.js";
import { ImageTree, type Node } from "./tree.js";

/** Every temp directory of this file, removed at the end. */
const scratch = mkdtempSync(join(tmpdir(), "kiln-pkg-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const file = (text: string, mode = 0o644, uid = 0): Node => ({
  type: "file",
  mode,
  uid,
  gid: 0,
  inode: { body: { kind: "bytes", data: Buffer.from(text) } },
});
const MTIME = new Date("2017-04-18T16:30:00Z");

describe("ImageTree", () => {
  test("later entries replace earlier ones, directories merge, parents appear", () => {
    const t = new ImageTree();
    t.add("usr/bin/a", file("one"), "first");
    t.add("usr", { type: "directory", mode: 0o700, uid: 0, gid: 0 }, "second");
    t.add("usr/bin/a", file("two", 0o755), "second");
    t.add("etc/x/y", file("y"), "first");
    t.add("etc/x", { type: "symlink", mode: 0o777, uid: 0, gid: 0, linkname: "/tmp" }, "third");
    const paths = [...t.entries(MTIME)].map(
      ({ entry }) => `${entry.path} ${entry.type} ${entry.mode.toString(8)}`,
    );
    expect(paths).toEqual([
      "etc directory 755",
      "etc/x symlink 777",
      "usr directory 700",
      "usr/bin directory 755",
      "usr/bin/a file 755",
    ]);
  });

  test("nothing is written through a symlink", () => {
    const t = new ImageTree();
    t.add("bin", { type: "symlink", mode: 0o777, uid: 0, gid: 0, linkname: "usr/bin" }, "a");
    expect(() => t.add("bin/sh", file("x"), "Debian package dash")).toThrow(KilnError);
    expect(() => t.add("bin/sh", file("x"), "Debian package dash")).toThrow(
      "Debian package dash: /bin/sh would be written through the symlink /bin",
    );
  });

  test("of hardlinked paths, the first in path order carries the contents, whatever order they came in", () => {
    const t = new ImageTree();
    t.add("z/target", file("data", 0o755, 7), "deb");
    t.link("a/link", "z/target", "deb");
    const entries = [...t.entries(MTIME)].filter(({ entry }) => entry.type !== "directory");
    expect(
      entries.map(({ entry, body }) => [entry.path, entry.type, entry.linkname, entry.uid, body?.kind]),
    ).toEqual([
      ["a/link", "file", undefined, 7, "bytes"],
      ["z/target", "link", "a/link", 7, undefined],
    ]);
  });
});

describe("writeLayer", () => {
  test("a sorted tar with parents, fixed mtimes and numeric owners, the same bytes every time", async () => {
    const t = new ImageTree();
    t.add("usr/bin/b", file("b", 0o755), "x");
    t.add("etc/motd", file("hello\n", 0o644, 5), "x");
    t.add("a/very/".concat("long/".repeat(40), "name"), file("long"), "x");
    const dir = await mkdtemp(join(scratch, "kiln-layer-"));
    const one = await writeLayer(t.entries(MTIME), join(dir, "1.tar.gz"));
    const two = await writeLayer(t.entries(MTIME), join(dir, "2.tar.gz"));
    expect(two).toEqual({ ...one, file: join(dir, "2.tar.gz") });
    expect(one.digest).not.toBe(one.diffId);
    const bytes = await readFile(one.file);
    expect(one.size).toBe(bytes.length);
    // GNU tar, an independent reader, sees what was written.
    const listing = await execa("tar", ["-tvzf", one.file, "--numeric-owner", "--utc"]);
    const lines = listing.stdout.split("\n");
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0\s+0 2017-04-18 16:30 a\/$/);
    expect(lines).toContainEqual(expect.stringMatching(/^-rw-r--r-- 5\/0\s+6 2017-04-18 16:30 etc\/motd$/));
    expect(lines).toContainEqual(expect.stringMatching(/^-rwxr-xr-x 0\/0\s+1 2017-04-18 16:30 usr\/bin\/b$/));
    expect(lines).toContainEqual(expect.stringMatching(/long\/name$/));
    const names = lines.map((l) => l.split(" ").pop()!.replace(/\/$/, ""));
    expect(names).toEqual([...names].sort());
    // No atime/ctime anywhere: PAX headers appear only for the long name.
    expect(gunzipSync(bytes).includes("atime=")).toBe(false);
  });
});
