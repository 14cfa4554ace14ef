import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OciCache } from "@kiln/builder";
import { INIT_IMAGE, kernelImage, putImage } from "@kiln/builder/testing";
import { beforeAll, describe, expect, test } from "vitest";
import { kiln } from "./test-helpers.js";

let root: string;
let cacheDir: string;
let yml: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kiln-cli-build-"));
  cacheDir = join(root, "cache");
  const cache = await OciCache.open(cacheDir);
  await putImage(cache, "example.com/kiln/kernel:1", await kernelImage());
  await putImage(cache, "example.com/kiln/init:1", INIT_IMAGE);
  yml = join(root, "appliance.yml");
  await writeFile(
    yml,
    "kernel:\n  image: example.com/kiln/kernel:1\n  cmdline: console=ttyS0\ninit:\n  - example.com/kiln/init:1\n",
  );
});

describe("kiln build", () => {
  test("writes LinuxKit's kernel+initrd files, then answers an unchanged rebuild in well under a second", () => {
    const dir = join(root, "out");
    const first = kiln(["build", "--cache", cacheDir, "--dir", dir, yml]);
    expect(first.stderr).toMatch(/kiln: built in [\d.]+ s:\n/);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe("");
    for (const f of ["appliance-kernel", "appliance-initrd.img", "appliance-cmdline"])
      expect(existsSync(join(dir, f))).toBe(true);

    const again = kiln(["build", "--cache", cacheDir, "--dir", dir, yml]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/kiln: up to date \(checked in \d+ ms\):\n/);
    expect(again.stderr).toContain(join(dir, "appliance-initrd.img"));
    // From the command's start to its answer, after node has started (see docs/benchmarks.md for the
    // whole command's wall time).
    const ms = Number(/checked in (\d+) ms/.exec(again.stderr)![1]);
    expect(ms).toBeLessThan(500);
  });

  test("-o - streams the tar to standard output; -q prints nothing else", async () => {
    const r = spawnSync(
      process.execPath,
      [join(__dirname, "../dist/main.js"), "build", "-q", "--cache", cacheDir, "-o", "-", yml],
      {
        encoding: "buffer",
      },
    );
    expect(r.status).toBe(0);
    expect(r.stderr.toString()).toBe("");
    const list = spawnSync("tar", ["--warning=no-unknown-keyword", "-t"], {
      input: r.stdout,
      encoding: "utf8",
    });
    expect(list.status).toBe(0);
    expect(list.stdout.split("\n").slice(0, 3)).toEqual(["boot/", "boot/cmdline", "boot/kernel"]);
  });

  test("the name comes from the last YAML file, or is moby for standard input", async () => {
    const dir = await mkdtemp(join(root, "stdin-"));
    const text = await readFile(yml, "utf8");
    const r = kiln(["build", "--cache", cacheDir, "--dir", dir, "-f", "tar", "-"], { input: text });
    expect(r.stderr).toMatch(/built/);
    expect(await readdir(dir)).toEqual(["moby.tar"]);
  });

  test.each([
    [["-o", "x.tar", "--dir", "d"], /-o cannot be combined with --name or --dir/],
    [["-f", "tar,kernel+initrd"], /format tar must be the only format/],
    [["-f", "iso-efii"], /unknown format "iso-efii" \(hint: did you mean `iso-efi`\?\)/],
    [["--size", "big"], /--size "big" is not a size/],
    [["--compression", "lz4"], /argument 'lz4' is invalid/],
  ])("%j is a usage error (exit 2)", (args, message) => {
    const r = kiln(["build", "--cache", cacheDir, ...args, yml]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });

  test("a missing image in an offline cache is one clear error, with no stack and no output", async () => {
    const dir = await mkdtemp(join(root, "missing-"));
    const bad = join(root, "bad.yml");
    await writeFile(bad, "init:\n  - 127.0.0.1:1/kiln/absent:1\n");
    const r = kiln(["build", "--cache", cacheDir, "--dir", dir, "-f", "tar", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kiln: error: /m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(dir)).toEqual([]);
  });
});
