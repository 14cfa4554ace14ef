import { execFileSync } from "node:child_process";
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { KilnError } from "@kiln/spec";
import { afterAll, describe, expect, test } from "vitest";
import { flattenLayers, type LayerSource } from "./flatten.js";
import { HOSTILE_HINT } from "./layer-error.js";
import { byPath, flat, gnuTar, layerOf, layers, makeTar, paths } from "./testdata/layers.js";

/** Flattening must throw a KilnError matching `message` before yielding anything. */
async function rejects(sources: LayerSource[], message: RegExp): Promise<KilnError> {
  const yielded: string[] = [];
  let error: unknown;
  try {
    for await (const { entry, body } of flattenLayers(sources)) {
      yielded.push(entry.path);
      body?.resume();
    }
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(KilnError);
  expect((error as KilnError).message).toMatch(message);
  expect(yielded).toEqual([]);
  return error as KilnError;
}

describe("one layer", () => {
  test("keeps every type, with modes, owners, times, devices and contents", async () => {
    const mtime = new Date("2024-05-06T07:08:09Z");
    const result = await flat(
      await layers([
        { name: "./", type: "directory", mode: 0o755 },
        { name: "./bin/", type: "directory", mode: 0o755, mtime },
        { name: "./bin/su", mode: 0o4755, uid: 0, gid: 0, body: "su!", mtime },
        {
          name: "./home/alice/",
          type: "directory",
          mode: 0o1770,
          uid: 1000,
          gid: 100,
          uname: "alice",
          gname: "users",
        },
        {
          name: "./home/alice/notes",
          mode: 0o600,
          uid: 1000,
          gid: 100,
          uname: "alice",
          gname: "users",
          body: "hi",
        },
        { name: "./bin/sh", type: "symlink", linkname: "/bin/busybox" },
        { name: "./bin/ash", type: "link", linkname: "./bin/su" },
        { name: "./dev/null", type: "character-device", mode: 0o666, devmajor: 1, devminor: 3 },
        { name: "./dev/sda", type: "block-device", mode: 0o660, devmajor: 8, devminor: 0 },
        { name: "./run/fifo", type: "fifo", mode: 0o600 },
      ]),
    );
    expect(paths(result)).toEqual([
      "bin",
      "bin/su",
      "home",
      "home/alice",
      "home/alice/notes",
      "bin/sh",
      "bin/ash",
      "dev",
      "dev/null",
      "dev/sda",
      "run",
      "run/fifo",
    ]);
    expect(byPath(result, "bin/su")).toEqual({
      path: "bin/su",
      type: "file",
      mode: 0o4755,
      uid: 0,
      gid: 0,
      mtime,
      size: 3,
      data: "su!",
    });
    expect(byPath(result, "home/alice")).toMatchObject({
      type: "directory",
      mode: 0o1770,
      uid: 1000,
      gid: 100,
    });
    expect(byPath(result, "home/alice/notes")).toMatchObject({
      mode: 0o600,
      uid: 1000,
      gid: 100,
      uname: "alice",
      gname: "users",
      data: "hi",
    });
    expect(byPath(result, "bin/sh")).toMatchObject({ type: "symlink", linkname: "/bin/busybox", size: 0 });
    expect(byPath(result, "bin/ash")).toMatchObject({ type: "link", linkname: "bin/su", size: 0 });
    expect(byPath(result, "dev/null")).toMatchObject({ type: "character-device", devmajor: 1, devminor: 3 });
    expect(byPath(result, "dev/sda")).toMatchObject({ type: "block-device", devmajor: 8, devminor: 0 });
    expect(byPath(result, "run/fifo")).toMatchObject({ type: "fifo", mode: 0o600 });
    // parents the layer left out are made as root-owned 0755 directories, just before they are needed
    expect(byPath(result, "dev")).toEqual({
      path: "dev",
      type: "directory",
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: new Date(0),
      size: 0,
      synthetic: true,
    });
    expect(byPath(result, "bin")).not.toHaveProperty("synthetic");
  });

  test("keeps the tar's order rather than sorting", async () => {
    const result = await flat(await layers([{ name: "z" }, { name: "a" }, { name: "m" }]));
    expect(paths(result)).toEqual(["z", "a", "m"]);
  });

  test("keeps PAX xattrs and records, applies PAX uid/gid/mtime, drops atime and ctime", async () => {
    const result = await flat(
      await layers([
        {
          name: "f",
          body: "x",
          pax: {
            "SCHILY.xattr.user.x": "hello",
            "SCHILY.xattr.trusted.y": "",
            "KILN.note": "ünïcode",
            uid: "3000000000",
            gid: "4000000000",
            uname: "big",
            mtime: "1700000000.5",
            atime: "1700000001",
            ctime: "1700000002",
          },
        },
      ]),
    );
    expect(result).toHaveLength(1);
    expect(result[0]).toMatchObject({
      path: "f",
      uid: 3000000000,
      gid: 4000000000,
      uname: "big",
      mtime: new Date(1700000000500),
      pax: { "KILN.note": "ünïcode" },
      data: "x",
    });
    expect(result[0]!.xattrs).toEqual({ "user.x": Buffer.from("hello"), "trusted.y": Buffer.alloc(0) });
  });

  test("keeps binary xattr values byte for byte (security.capability)", async () => {
    const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe, 0x80, 0x00]);
    const placeholder = "Q".repeat(capability.length);
    const bytes = await makeTar([
      { name: "bin/ping", pax: { "SCHILY.xattr.security.capability": placeholder } },
    ]);
    const at = bytes.indexOf(placeholder);
    capability.copy(bytes, at);
    const result = await flat([layerOf(bytes)]);
    expect(byPath(result, "bin/ping")?.xattrs?.["security.capability"]).toEqual(capability);
  });

  test("keeps names and link targets longer than 100 characters", async () => {
    const deep = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(70)}`;
    const longName = `${"n".repeat(150)}.txt`;
    const result = await flat(
      await layers([
        { name: deep, body: "deep" },
        { name: longName, body: "long" },
        { name: "link", type: "symlink", linkname: `/${"t".repeat(200)}` },
        { name: "hard", type: "link", linkname: longName },
      ]),
    );
    expect(byPath(result, deep)?.data).toBe("deep");
    expect(byPath(result, longName)?.data).toBe("long");
    expect(byPath(result, "link")?.linkname).toBe(`/${"t".repeat(200)}`);
    expect(byPath(result, "hard")?.linkname).toBe(longName);
  });

  test("skips the root entry and aufs metadata, and never emits whiteouts", async () => {
    const result = await flat(
      await layers([
        { name: ".", type: "directory" },
        { name: ".wh..wh.plnk/", type: "directory" },
        { name: ".wh..wh.plnk/123.456", body: "x" },
        { name: ".wh..wh.aufs", body: "" },
        { name: "etc/.wh.nothing-below" },
        { name: "etc/hosts", body: "h" },
      ]),
    );
    expect(paths(result)).toEqual(["etc", "etc/hosts"]);
  });
});

describe("layers", () => {
  test("a whiteout removes a file of a lower layer", async () => {
    const result = await flat(
      await layers(
        [
          { name: "etc/", type: "directory" },
          { name: "etc/a", body: "a" },
          { name: "etc/b", body: "b" },
        ],
        [{ name: "etc/.wh.a" }],
      ),
    );
    expect(paths(result)).toEqual(["etc", "etc/b"]);
  });

  test("a whiteout removes a whole directory of a lower layer", async () => {
    const result = await flat(
      await layers(
        [
          { name: "d/", type: "directory" },
          { name: "d/x" },
          { name: "d/sub/", type: "directory" },
          { name: "d/sub/y" },
          { name: "keep" },
        ],
        [{ name: ".wh.d" }],
      ),
    );
    expect(paths(result)).toEqual(["keep"]);
  });

  test("a whiteout only hides lower layers, whatever its place in its own layer", async () => {
    const result = await flat(
      await layers([{ name: "f", body: "old" }], [{ name: "f", body: "new" }, { name: ".wh.f" }]),
    );
    expect(result).toMatchObject([{ path: "f", data: "new" }]);
  });

  test.for([
    ["marker first", true],
    ["marker last", false],
  ] as const)("an opaque directory, re-populated in the same layer (%s)", async ([, markerFirst]) => {
    const marker = { name: "d/.wh..wh..opq" };
    const upper = [
      { name: "d/", type: "directory" as const, mode: 0o700, uid: 7 },
      { name: "d/new", body: "new" },
      { name: "d/sub/", type: "directory" as const },
      { name: "d/sub/fresh", body: "fresh" },
    ];
    const result = await flat(
      await layers(
        [
          { name: "d/", type: "directory", mode: 0o755 },
          { name: "d/old", body: "old" },
          { name: "d/sub/", type: "directory" },
          { name: "d/sub/deep", body: "deep" },
          { name: "other", body: "o" },
        ],
        markerFirst ? [marker, ...upper] : [...upper, marker],
      ),
    );
    // d keeps its place (first seen in the bottom layer) but takes the top layer's metadata
    expect(paths(result)).toEqual(["d", "other", "d/new", "d/sub", "d/sub/fresh"]);
    expect(byPath(result, "d")).toMatchObject({ mode: 0o700, uid: 7 });
  });

  test("a directory in several layers is emitted once, where it first appears, with the topmost metadata", async () => {
    const result = await flat(
      await layers(
        [{ name: "a/", type: "directory", mode: 0o755 }, { name: "a/1" }],
        [{ name: "a/", type: "directory", mode: 0o750, uid: 1 }, { name: "a/2" }],
        [{ name: "a/", type: "directory", mode: 0o700, uid: 2, gid: 3 }, { name: "a/3" }],
      ),
    );
    expect(paths(result)).toEqual(["a", "a/1", "a/2", "a/3"]);
    expect(byPath(result, "a")).toMatchObject({ mode: 0o700, uid: 2, gid: 3 });
  });

  test("a made-up parent that a later entry or layer declares takes its metadata and is no longer marked", async () => {
    const mtime = new Date("2024-05-06T07:08:09Z");
    const result = await flat(
      await layers(
        [{ name: "a/b/f" }, { name: "a/", type: "directory", mode: 0o750, mtime }],
        [{ name: "a/b/", type: "directory", mode: 0o700, uid: 5 }],
        [{ name: "c/d" }],
      ),
    );
    expect(paths(result)).toEqual(["a", "a/b", "a/b/f", "c", "c/d"]);
    expect(byPath(result, "a")).toEqual({
      path: "a",
      type: "directory",
      mode: 0o750,
      uid: 0,
      gid: 0,
      mtime,
      size: 0,
    });
    expect(byPath(result, "a/b")).toMatchObject({ mode: 0o700, uid: 5 });
    expect(byPath(result, "a/b")).not.toHaveProperty("synthetic");
    expect(byPath(result, "c")).toMatchObject({ mode: 0o755, synthetic: true });
  });

  test("a file replaced in a higher layer is emitted once, from that layer", async () => {
    const result = await flat(
      await layers(
        [
          { name: "f", body: "old" },
          { name: "g", body: "g" },
        ],
        [{ name: "f", body: "new", mode: 0o755 }],
      ),
    );
    expect(result).toMatchObject([
      { path: "g", data: "g" },
      { path: "f", data: "new", mode: 0o755 },
    ]);
  });

  test("a file replaced by a directory", async () => {
    const result = await flat(
      await layers(
        [{ name: "x", body: "file" }],
        [
          { name: "x/", type: "directory" },
          { name: "x/y", body: "y" },
        ],
      ),
    );
    expect(result).toMatchObject([
      { path: "x", type: "directory" },
      { path: "x/y", data: "y" },
    ]);
  });

  test("a directory replaced by a file takes its contents with it", async () => {
    const result = await flat(
      await layers(
        [{ name: "x/", type: "directory" }, { name: "x/y" }, { name: "x/z/", type: "directory" }],
        [{ name: "x", body: "file" }],
      ),
    );
    expect(result).toMatchObject([{ path: "x", type: "file", data: "file" }]);
  });

  test("a whited-out directory can come back, new", async () => {
    const result = await flat(
      await layers(
        [{ name: "d/", type: "directory", mode: 0o755 }, { name: "d/old" }],
        [{ name: ".wh.d" }, { name: "d/", type: "directory", mode: 0o700 }, { name: "d/new" }],
      ),
    );
    expect(paths(result)).toEqual(["d", "d/new"]);
    expect(byPath(result, "d")?.mode).toBe(0o700);
  });

  test("a symlink can be replaced by a directory, which may then have entries", async () => {
    const result = await flat(
      await layers(
        [{ name: "lib", type: "symlink", linkname: "usr/lib" }],
        [{ name: "lib/", type: "directory" }, { name: "lib/x" }],
        [{ name: ".wh.lib" }, { name: "lib", type: "symlink", linkname: "usr/lib64" }],
      ),
    );
    expect(result).toMatchObject([{ path: "lib", type: "symlink", linkname: "usr/lib64" }]);
  });

  test("hardlinks to a lower layer's file are kept and come after their target", async () => {
    const result = await flat(
      await layers(
        [{ name: "bin/busybox", body: "bb" }],
        [{ name: "bin/sh", type: "link", linkname: "bin/busybox" }],
      ),
    );
    expect(paths(result)).toEqual(["bin", "bin/busybox", "bin/sh"]);
    expect(byPath(result, "bin/sh")).toMatchObject({ type: "link", linkname: "bin/busybox" });
  });

  test("accepts layers as an async iterable", async () => {
    const list = await layers([{ name: "a" }], [{ name: "b" }]);
    async function* gen() {
      yield* list;
    }
    expect(paths(await flat(gen()))).toEqual(["a", "b"]);
  });

  test("reads layers only as far as it has something to emit from them", async () => {
    const [bottom, top] = await layers(
      [{ name: "a" }, { name: "b" }],
      [{ name: ".wh.a" }, { name: ".wh.b" }],
    );
    let opens = 0;
    const counted: LayerSource = {
      digest: top!.digest,
      open: () => {
        opens++;
        return top!.open();
      },
    };
    expect(await flat([bottom!, counted])).toEqual([]);
    expect(opens).toBe(1);
  });
});

describe("bodies", () => {
  const threeFiles = () =>
    layers([
      { name: "a", body: "A".repeat(100_000) },
      { name: "b", body: "B".repeat(100_000) },
      { name: "c", body: "c" },
    ]);

  test("a body left unread is discarded when the next entry is pulled", async () => {
    const seen: string[] = [];
    for await (const { entry, body } of flattenLayers(await threeFiles())) {
      seen.push(entry.path);
      if (entry.path === "c") expect((await body!.toArray()).join("")).toBe("c");
    }
    expect(seen).toEqual(["a", "b", "c"]);
  });

  test("a body destroyed half way is discarded too", async () => {
    const seen: string[] = [];
    for await (const { entry, body } of flattenLayers(await threeFiles())) {
      seen.push(entry.path);
      for await (const _ of body!) break; // destroys it after the first chunk
    }
    expect(seen).toEqual(["a", "b", "c"]);
  });

  test("leaving the loop half way through a body closes the layer's stream", async () => {
    const bytes = await makeTar([{ name: "big", body: "x".repeat(1_000_000) }, { name: "after" }]);
    const opened: Readable[] = [];
    const source: LayerSource = {
      digest: "sha256:abandoned",
      open: async () => {
        const stream = Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)], {
          objectMode: false,
        });
        opened.push(stream);
        return stream;
      },
    };
    for await (const { body } of flattenLayers([source])) {
      for await (const _ of body!) break;
      break;
    }
    expect(opened).toHaveLength(2);
    expect(opened.every((stream) => stream.destroyed)).toBe(true);
  });

  test("a piped body is waited for", async () => {
    const { PassThrough } = await import("node:stream");
    const sizes: number[] = [];
    for await (const { body } of flattenLayers(await threeFiles())) {
      const sink = new PassThrough();
      let size = 0;
      sink.on("data", (chunk: Buffer) => {
        size += chunk.length;
      });
      sink.on("end", () => sizes.push(size));
      body!.pipe(sink);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(sizes).toEqual([100_000, 100_000, 1]);
  });
});

describe("hostile and broken layers", () => {
  test.for([
    ["an absolute path", "/etc/passwd", /entry "\/etc\/passwd" is an absolute path/],
    ["a .. component", "../etc/passwd", /entry "..\/etc\/passwd" climbs out of the image root/],
    ["a .. in the middle", "a/../../etc/passwd", /climbs out of the image root/],
    ["a harmless-looking ..", "a/../b", /climbs out of the image root/],
  ])("rejects %s", async ([, name, message]) => {
    const error = await rejects(
      await layers([{ name: "ok" }], [{ name: "fine" }, { name: name! }]),
      message as RegExp,
    );
    expect(error.message).toMatch(/^layer sha256:0+\d…: /);
    expect(error.hint).toBe(HOSTILE_HINT);
  });

  test("rejects a relative symlink that climbs above the root, accepts absolute and contained ones", async () => {
    await rejects(
      await layers([{ name: "a/b", type: "symlink", linkname: "../../etc/shadow" }]),
      /symlink "a\/b" → "..\/..\/etc\/shadow" climbs out of the image root/,
    );
    await rejects(await layers([{ name: "x", type: "symlink", linkname: ".." }]), /climbs out/);
    const ok = await flat(
      await layers([
        { name: "a/abs", type: "symlink", linkname: "/etc/shadow" },
        { name: "a/rel", type: "symlink", linkname: "../etc/shadow" },
        { name: "a/b/up", type: "symlink", linkname: "x/../../../etc" },
      ]),
    );
    expect(paths(ok)).toEqual(["a", "a/abs", "a/rel", "a/b", "a/b/up"]);
  });

  test("rejects an entry under a symlinked directory, in the same layer", async () => {
    await rejects(
      await layers([
        { name: "lib", type: "symlink", linkname: "/etc" },
        { name: "lib/passwd", body: "root::0:0::/:/bin/sh" },
      ]),
      /entry "lib\/passwd" lies under "lib", which is a symlink/,
    );
  });

  test("rejects an entry under a symlinked directory, across layers", async () => {
    await rejects(
      await layers(
        [
          { name: "usr/", type: "directory" },
          { name: "usr/escape", type: "symlink", linkname: "/" },
        ],
        [
          { name: "usr/escape/etc/", type: "directory" },
          { name: "usr/escape/etc/cron.d/evil", body: "* * * * *" },
        ],
      ),
      /entry "usr\/escape\/etc" lies under "usr\/escape", which is a symlink/,
    );
  });

  test("rejects an entry under a file", async () => {
    await rejects(
      await layers([{ name: "f", body: "x" }], [{ name: "f/g" }]),
      /entry "f\/g" lies under "f", which is a file/,
    );
  });

  test("rejects hardlinks to missing targets, directories, themselves, or outside", async () => {
    await rejects(
      await layers([{ name: "h", type: "link", linkname: "nowhere" }]),
      /hardlink "h" → "nowhere": the target does not exist/,
    );
    await rejects(
      await layers([{ name: "h", type: "link", linkname: "later" }, { name: "later" }]),
      /hardlink "h" → "later": the target does not exist/,
    );
    await rejects(
      await layers([
        { name: "d/", type: "directory" },
        { name: "h", type: "link", linkname: "d" },
      ]),
      /the target is a directory/,
    );
    await rejects(await layers([{ name: "h", type: "link", linkname: "h" }]), /links to itself/);
    await rejects(
      await layers([{ name: "h", type: "link", linkname: "/etc/passwd" }]),
      /hardlink "h" → "\/etc\/passwd": the target is an absolute path/,
    );
    await rejects(
      await layers([{ name: "h", type: "link", linkname: "../../etc/passwd" }]),
      /the target climbs out of the image root/,
    );
    await rejects(
      await layers([
        { name: "lib", type: "symlink", linkname: "/etc" },
        { name: "h", type: "link", linkname: "lib/passwd" },
      ]),
      /hardlink "h" → "lib\/passwd": the target does not exist/,
    );
  });

  test("rejects a hardlink whose target a higher layer whites out or replaces", async () => {
    const removed = await layers(
      [
        { name: "bin/busybox", body: "bb" },
        { name: "bin/sh", type: "link", linkname: "bin/busybox" },
      ],
      [{ name: "bin/.wh.busybox" }],
    );
    const error = await rejects(
      removed,
      /hardlink "bin\/sh" → "bin\/busybox": a later entry or layer removes the target/,
    );
    expect(error.message).toContain(removed[0]!.digest.slice(0, 19));
    await rejects(
      await layers(
        [
          { name: "lib/libc.so", body: "libc" },
          { name: "bin/libc", type: "link", linkname: "lib/libc.so" },
        ],
        [{ name: ".wh.lib" }, { name: "lib/libc.so", body: "new" }],
      ),
      /hardlink "bin\/libc" → "lib\/libc.so": a later entry or layer replaces the target/,
    );
    await rejects(
      await layers([
        { name: "a", body: "1" },
        { name: "b", type: "link", linkname: "a" },
        { name: "a", body: "2" },
      ]),
      /hardlink "b" → "a": a later entry or layer replaces the target/,
    );
    await rejects(
      await layers(
        [
          { name: "bin/busybox", body: "bb" },
          { name: "bin/sh", type: "link", linkname: "bin/busybox" },
        ],
        [{ name: "bin/busybox", body: "new" }],
      ),
      /replaces the target/,
    );
  });

  test("the link and its target replaced together is fine", async () => {
    const result = await flat(
      await layers(
        [
          { name: "a", body: "1" },
          { name: "b", type: "link", linkname: "a" },
        ],
        [
          { name: "a", body: "2" },
          { name: "b", type: "link", linkname: "a" },
        ],
      ),
    );
    expect(result).toMatchObject([
      { path: "a", data: "2" },
      { path: "b", type: "link", linkname: "a" },
    ]);
  });

  test("rejects a malformed whiteout and a non-directory root", async () => {
    await rejects(await layers([{ name: "d/.wh." }]), /whiteout "d\/.wh." names no valid entry/);
    await rejects(await layers([{ name: ".wh..." }]), /names no valid entry/);
    await rejects(await layers([{ name: "./", type: "symlink", linkname: "/" }]), /replaces the image root/);
  });

  test("rejects what is not a tar, naming the layer", async () => {
    const error = await rejects(
      [layerOf(Buffer.alloc(4096, 0x41), "sha256:ffffffffffffffffffffffff")],
      /^layer sha256:ffffffffffff…: cannot read it as a tar: /,
    );
    expect(error.hint).toMatch(/corrupt/);
  });

  test("rejects a truncated tar", async () => {
    const bytes = await makeTar([{ name: "f", body: "x".repeat(10_000) }]);
    await rejects([layerOf(bytes.subarray(0, 4096))], /cannot read it as a tar/);
  });

  test("rejects a GNU sparse file", async () => {
    await rejects(
      await layers([{ name: "f", pax: { "GNU.sparse.major": "1", "GNU.sparse.minor": "0" } }]),
      /entry "f" is a GNU sparse file/,
    );
  });

  test("notices a layer whose bytes changed between the two reads", async () => {
    const first = await makeTar([{ name: "a" }, { name: "b" }]);
    const second = await makeTar([{ name: "a" }, { name: "c" }]);
    let reads = 0;
    const fickle: LayerSource = {
      digest: "sha256:fickle",
      open: async () => Readable.from([reads++ === 0 ? first : second]),
    };
    await expect(flat([fickle])).rejects.toThrow(/its contents changed between two reads/);
  });

  test("stops on an aborted signal", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(flat(await layers([{ name: "a" }]), { signal: controller.signal })).rejects.toThrow(
      /abort/i,
    );
  });
});

describe("layers made by GNU tar", () => {
  const dir = mkdtempSync(join(tmpdir(), "kiln-flatten-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, "root");
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  const longDir = join(root, "x".repeat(90), "y".repeat(90));
  mkdirSync(longDir, { recursive: true });
  writeFileSync(join(root, "usr/bin/tool"), "tool!");
  chmodSync(join(root, "usr/bin/tool"), 0o4755);
  linkSync(join(root, "usr/bin/tool"), join(root, "usr/bin/tool2"));
  symlinkSync("tool", join(root, "usr/bin/alias"));
  writeFileSync(join(longDir, `${"z".repeat(120)}.txt`), "long");
  execFileSync("mkfifo", [join(root, "fifo")]);
  const isRoot = process.getuid?.() === 0;
  if (isRoot) execFileSync("mknod", [join(root, "null"), "c", "1", "3"]);
  let xattrs = false;
  try {
    execFileSync("python3", [
      "-c",
      `import os; os.setxattr(${JSON.stringify(join(root, "usr/bin/tool"))}, "user.x", b"\\x00\\xffv")`,
    ]);
    xattrs = true;
  } catch {
    // no python3, or a filesystem without user xattrs
  }

  test.for([
    ["gnu", ["--format=gnu"]],
    ["posix", ["--format=posix", "--xattrs", "--xattrs-include=user.*"]],
    ["oldgnu", ["--format=oldgnu"]],
  ] as const)("%s format", async ([format, args]) => {
    const bytes = gnuTar(root, [...args, "--owner=0", "--group=0", "--numeric-owner"]);
    const result = await flat([layerOf(bytes)]);
    const long = `${"x".repeat(90)}/${"y".repeat(90)}/${"z".repeat(120)}.txt`;
    // GNU tar stores whichever of the two names it meets first as the file, the other as a link to it
    const [file, link] = ["usr/bin/tool", "usr/bin/tool2"]
      .map((path) => byPath(result, path)!)
      .sort((a, b) => (a.type === "file" ? -1 : b.type === "file" ? 1 : 0));
    expect(file).toMatchObject({ type: "file", mode: 0o4755, uid: 0, gid: 0, data: "tool!" });
    expect(link).toMatchObject({ type: "link", linkname: file!.path });
    expect(result.indexOf(link!)).toBeGreaterThan(result.indexOf(file!));
    expect(byPath(result, "usr/bin/alias")).toMatchObject({ type: "symlink", linkname: "tool" });
    expect(byPath(result, long)).toMatchObject({ data: "long" });
    expect(byPath(result, "fifo")).toMatchObject({ type: "fifo" });
    if (isRoot)
      expect(byPath(result, "null")).toMatchObject({ type: "character-device", devmajor: 1, devminor: 3 });
    if (xattrs && format === "posix")
      expect(file!.xattrs?.["user.x"]).toEqual(Buffer.from([0x00, 0xff, 0x76]));
  });
});
