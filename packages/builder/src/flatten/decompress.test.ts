import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { KilnError } from "@kiln/spec";
import { afterAll, describe, expect, test } from "vitest";
import { layerCompression, openLayer } from "./decompress.js";
import type { LayerSource } from "./flatten.js";
import { flat, makeTar } from "./testdata/layers.js";

const hasZstd = spawnSync("zstd", ["--version"]).status === 0;

describe("openLayer", () => {
  const dir = mkdtempSync(join(tmpdir(), "kiln-decompress-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const fromFile = (path: string, mediaType: string): LayerSource => ({
    digest: `sha256:${"cd".repeat(32)}`,
    open: () => openLayer(path, mediaType),
  });

  async function tarFile(name: string): Promise<string> {
    const path = join(dir, name);
    writeFileSync(
      path,
      await makeTar([
        { name: "etc/", type: "directory" },
        { name: "etc/motd", body: "hello\n".repeat(10_000) },
      ]),
    );
    return path;
  }

  const expected = [
    { path: "etc", type: "directory" },
    { path: "etc/motd", type: "file", size: 60_000, data: "hello\n".repeat(10_000) },
  ];

  test.for([
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ])("uncompressed: %s", async (mediaType) => {
    const path = await tarFile("plain.tar");
    expect(await flat([fromFile(path, mediaType)])).toMatchObject(expected);
  });

  test.for([
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
  ])("gzip: %s", async (mediaType) => {
    const tar = await tarFile("for-gzip.tar");
    const path = `${tar}.gz`;
    execFileSync("gzip", ["-kf", tar]);
    expect(await flat([fromFile(path, mediaType)])).toMatchObject(expected);
  });

  test("gzip, made in process, in several members", async () => {
    const bytes = await makeTar([{ name: "a", body: "a" }]);
    const path = join(dir, "members.tar.gz");
    writeFileSync(path, Buffer.concat([gzipSync(bytes.subarray(0, 700)), gzipSync(bytes.subarray(700))]));
    expect(await flat([fromFile(path, "application/vnd.oci.image.layer.v1.tar+gzip")])).toMatchObject([
      { path: "a", data: "a" },
    ]);
  });

  test.skipIf(!hasZstd)("zstd", async () => {
    const tar = await tarFile("for-zstd.tar");
    execFileSync("zstd", ["-qf", tar, "-o", `${tar}.zst`]);
    expect(await flat([fromFile(`${tar}.zst`, "application/vnd.oci.image.layer.v1.tar+zstd")])).toMatchObject(
      expected,
    );
  });

  test.skipIf(!hasZstd)("a corrupt zstd blob is an error, not a short tar", async () => {
    const tar = await tarFile("corrupt-zstd.tar");
    execFileSync("zstd", ["-qf", tar, "-o", `${tar}.zst`]);
    const whole = execFileSync("cat", [`${tar}.zst`]);
    writeFileSync(`${tar}.zst`, whole.subarray(0, whole.length - 40));
    await expect(
      flat([fromFile(`${tar}.zst`, "application/vnd.oci.image.layer.v1.tar+zstd")]),
    ).rejects.toThrow(/zstd cannot decompress the layer/);
  });

  test("a corrupt gzip blob names the layer", async () => {
    const path = join(dir, "corrupt.tar.gz");
    writeFileSync(path, Buffer.from("not gzip at all"));
    await expect(flat([fromFile(path, "application/vnd.oci.image.layer.v1.tar+gzip")])).rejects.toThrow(
      /^layer sha256:cdcdcdcdcdcd…: cannot read it as a tar: /,
    );
  });

  test("a missing blob is a KilnError", async () => {
    for (const mediaType of [
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
    ]) {
      await expect(openLayer(join(dir, "missing"), mediaType)).rejects.toThrow(KilnError);
      await expect(openLayer(join(dir, "missing"), mediaType)).rejects.toThrow(/cannot open the layer blob/);
    }
  });

  test("an unknown media type is a KilnError listing the known ones", async () => {
    expect(() => layerCompression("application/vnd.oci.image.layer.v1.tar+bzip2")).toThrow(
      /unsupported layer media type "application\/vnd.oci.image.layer.v1.tar\+bzip2"/,
    );
    await expect(openLayer("/dev/null", "text/plain")).rejects.toThrow(KilnError);
  });

  test("without zstd installed, says so", async () => {
    const path = join(dir, "x.tar.zst");
    writeFileSync(path, "");
    const saved = process.env.PATH;
    process.env.PATH = dir; // nothing called zstd here
    try {
      const error = await openLayer(path, "application/vnd.oci.image.layer.v1.tar+zstd").catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KilnError);
      expect((error as KilnError).message).toMatch(/the zstd command is not installed/);
      expect((error as KilnError).hint).toMatch(/install zstd/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
