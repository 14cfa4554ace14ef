import { cp, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, test } from "vitest";
import { OciCache } from "../cache/cache.js";
import { openLayer } from "../flatten/decompress.js";
import { flattenLayers } from "../flatten/flatten.js";
import { MediaType } from "../oci/types.js";
import { RegistryClient } from "../registry/client.js";
import type { ResolvedImage } from "../registry/pull.js";
import { ImageResolver } from "../resolve/resolver.js";
import { makeLayout } from "../testing/image-fixture.js";
import { writeOciLayout } from "./write-oci-layout.js";

const tmp = (prefix: string) => mkdtemp(join(tmpdir(), `kiln-sources-${prefix}-`));
// No registry is reachable here: a test that falls through to a pull fails fast.
const offline = () => new RegistryClient({ attempts: 1, mirrors: { "docker.io": "http://127.0.0.1:1" } });

async function resolver(options: { arch?: string; cache?: OciCache } = {}) {
  const cache = options.cache ?? (await OciCache.open(await tmp("cache")));
  return { cache, r: new ImageResolver({ cache, client: offline(), arch: options.arch ?? "amd64" }) };
}

/** Every file of the image's flattened tree, path → contents. */
async function files(cache: OciCache, image: ResolvedImage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const layers = image.manifest.layers.map((l) => ({
    digest: l.digest,
    open: () => openLayer(cache.blobPath(l.digest), l.mediaType),
  }));
  for await (const { entry, body } of flattenLayers(layers)) {
    if (!body) continue;
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    out[entry.path] = Buffer.concat(chunks).toString();
  }
  return out;
}

/** Every blob of the image is in the cache and matches its digest (readBlob checks). */
async function expectVerifiedBlobs(cache: OciCache, image: ResolvedImage): Promise<void> {
  for (const d of [image.manifestDescriptor, image.manifest.config, ...image.manifest.layers]) {
    await expect(cache.readBlob(d.digest)).resolves.toHaveLength(d.size);
  }
}

describe("local image sources", () => {
  let app: { dir: string };
  let multi: { dir: string };
  let appTar: string;

  beforeAll(async () => {
    app = await makeLayout("v1", [
      {
        layers: [
          [
            { name: "etc/", type: "directory" },
            { name: "etc/motd", content: "hello from a layout\n" },
          ],
          [{ name: "bin/app", content: "#!/bin/sh\necho app\n", mode: 0o755 }],
        ],
        config: { Entrypoint: ["/bin/app"] },
      },
    ]);
    multi = await makeLayout("v2", [
      { architecture: "amd64", layers: [[{ name: "arch", content: "amd64\n" }]] },
      { architecture: "arm64", layers: [[{ name: "arch", content: "arm64\n" }]] },
    ]);
    appTar = join(await tmp("tar"), "app.tar");
    await execa("tar", ["-C", app.dir, "-cf", appTar, "."]);
  });

  test("oci-layout:DIR:TAG imports the image, blobs verified, and a second build copies nothing", async () => {
    const { cache, r } = await resolver();
    const image = await r.resolve(`oci-layout:${app.dir}:v1`);
    expect(image.name).toBe(`oci-layout:${app.dir}:v1`);
    expect(image.fromCache).toBe(false);
    expect(image.config.config?.Entrypoint).toEqual(["/bin/app"]);
    expect(await files(cache, image)).toEqual({
      "etc/motd": "hello from a layout\n",
      "bin/app": "#!/bin/sh\necho app\n",
    });
    await expectVerifiedBlobs(cache, image);
    expect((await cache.resolve(image.name))?.digest).toBe(image.root.digest);

    const again = await new ImageResolver({ cache, client: offline(), arch: "amd64" }).resolve(
      `oci-layout:${app.dir}:v1`,
    );
    expect(again.fromCache).toBe(true);
    expect(again.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
  });

  test("oci-layout:FILE.tar reads a tar of a layout; without a tag, its only image", async () => {
    const { cache, r } = await resolver();
    const image = await r.resolve(`oci-layout:${appTar}`);
    expect(image.name).toBe(`oci-layout:${appTar}`);
    expect(await files(cache, image)).toMatchObject({ "etc/motd": "hello from a layout\n" });
    await expectVerifiedBlobs(cache, image);
  });

  test("a gzip'd layout tar is read too", async () => {
    const gz = join(await tmp("gz"), "app.tar.gz");
    await execa("sh", ["-c", `gzip -c < ${appTar} > ${gz}`]);
    const { cache, r } = await resolver();
    const image = await r.resolve(`oci-layout:${gz}:v1`);
    expect(await files(cache, image)).toMatchObject({ "bin/app": "#!/bin/sh\necho app\n" });
  });

  test("platform selection applies to a layout's index", async () => {
    for (const arch of ["amd64", "arm64"]) {
      const { cache, r } = await resolver({ arch });
      const image = await r.resolve(`oci-layout:${multi.dir}:v2`);
      expect(INDEX_ROOT(image)).toBe(true);
      expect(image.config.architecture).toBe(arch);
      expect(await files(cache, image)).toEqual({ arch: `${arch}\n` });
    }
    const { r } = await resolver({ arch: "s390x" });
    await expect(r.resolve(`oci-layout:${multi.dir}:v2`)).rejects.toThrow(
      /has no linux\/s390x image \(it has linux\/amd64, linux\/arm64\)/,
    );
  });

  test("a corrupted blob in a layout directory is refused, naming the file and the blob", async () => {
    const dir = await tmp("corrupt");
    await cp(app.dir, dir, { recursive: true });
    const { r, cache } = await resolver();
    const good = await (await resolver()).r.resolve(`oci-layout:${app.dir}:v1`);
    const layer = good.manifest.layers[1]!;
    const file = join(dir, "blobs", "sha256", layer.digest.slice(7));
    const bytes = await readFile(file);
    bytes[bytes.length - 5]! ^= 0xff;
    await writeFile(file, bytes);
    const err = await r.resolve(`oci-layout:${dir}:v1`).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(`expected ${layer.digest}`);
    expect((err as { hint?: string }).hint).toMatch(/layout is damaged/);
    expect(await cache.hasBlob(layer.digest)).toBe(false);
    expect(await cache.resolve(`oci-layout:${dir}:v1`)).toBeUndefined();
    expect((await readdir(join(cache.dir, "blobs", "sha256"))).filter((n) => n.startsWith(".tmp"))).toEqual(
      [],
    );
  });

  test("a corrupted blob in a layout tar is refused too", async () => {
    const dir = await tmp("corrupt-tar");
    await cp(app.dir, join(dir, "layout"), { recursive: true });
    const blobs = join(dir, "layout", "blobs", "sha256");
    const { r } = await resolver();
    const good = await (await resolver()).r.resolve(`oci-layout:${app.dir}:v1`);
    const layer = good.manifest.layers[0]!;
    const bytes = await readFile(join(blobs, layer.digest.slice(7)));
    bytes[20]! ^= 0xff;
    await writeFile(join(blobs, layer.digest.slice(7)), bytes);
    const tar = join(dir, "bad.tar");
    await execa("tar", ["-C", join(dir, "layout"), "-cf", tar, "."]);
    await expect(r.resolve(`oci-layout:${tar}:v1`)).rejects.toThrow(
      new RegExp(`${tar}: blobs/sha256/${layer.digest.slice(7)}: content does not match its digest`),
    );
  });

  test("a missing tag, path or blob says what is there", async () => {
    const { r } = await resolver();
    await expect(r.resolve(`oci-layout:${app.dir}:nope`)).rejects.toThrow(
      /no image tagged "nope" \(it has v1\)/,
    );
    await expect(r.resolve("oci-layout:/nonexistent/layout:v1")).rejects.toThrow(
      /\/nonexistent\/layout does not exist/,
    );
    await expect(r.resolve(`docker-archive:${app.dir}`)).rejects.toThrow(
      /is a directory, not a docker save archive/,
    );
    const holey = await tmp("holey");
    await cp(app.dir, holey, { recursive: true });
    const good = await (await resolver()).r.resolve(`oci-layout:${app.dir}:v1`);
    const config = good.manifest.config.digest.slice(7);
    await execa("rm", [join(holey, "blobs", "sha256", config)]);
    await expect(r.resolve(`oci-layout:${holey}:v1`)).rejects.toThrow(/blob sha256:[0-9a-f]{64} is missing/);
  });

  test("docker-archive:FILE made by skopeo is converted to an OCI image in the cache", async () => {
    const archive = join(await tmp("docker"), "app.tar");
    await execa("skopeo", ["copy", "--quiet", `oci:${app.dir}:v1`, `docker-archive:${archive}:kiln/app:v1`]);
    const { cache, r } = await resolver();
    const image = await r.resolve(`docker-archive:${archive}`);
    expect(image.name).toBe(`docker-archive:${archive}`);
    expect(image.manifest.mediaType).toBe(MediaType.ociManifest);
    expect(image.manifest.config.mediaType).toBe(MediaType.ociConfig);
    // skopeo writes docker-archive layers uncompressed: their digests are the config's diff_ids.
    expect(image.manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
    expect(image.manifest.layers.map((l) => l.digest)).toEqual(image.config.rootfs?.diff_ids);
    expect(image.config.config?.Entrypoint).toEqual(["/bin/app"]);
    expect(await files(cache, image)).toEqual({
      "etc/motd": "hello from a layout\n",
      "bin/app": "#!/bin/sh\necho app\n",
    });
    await expectVerifiedBlobs(cache, image);
    // umoci, an independent reader, unpacks it once exported to a layout of its own.
    const out = join(await tmp("export"), "layout");
    await writeOciLayout(cache, image, out, "app");
    const bundle = join(await tmp("bundle"), "b");
    await execa("umoci", ["unpack", "--rootless", "--image", `${out}:app`, bundle]);
    expect(await readFile(join(bundle, "rootfs", "etc", "motd"), "utf8")).toBe("hello from a layout\n");

    const wrongArch = await resolver({ arch: "arm64" });
    await expect(wrongArch.r.resolve(`docker-archive:${archive}`)).rejects.toThrow(
      /is a linux\/amd64 image, not linux\/arm64/,
    );
  });

  test("a docker-archive whose layer does not match the config's diff_id is refused", async () => {
    const dir = await tmp("docker-bad");
    await execa("skopeo", [
      "copy",
      "--quiet",
      `oci:${app.dir}:v1`,
      `docker-archive:${join(dir, "a.tar")}:kiln/app:v1`,
    ]);
    const x = join(dir, "x");
    await execa("mkdir", [x]);
    await execa("tar", ["-C", x, "-xf", join(dir, "a.tar")]);
    const manifest = JSON.parse(await readFile(join(x, "manifest.json"), "utf8")) as [{ Layers: string[] }];
    const layerFile = join(x, manifest[0].Layers[0]!);
    const bytes = await readFile(layerFile);
    bytes[600]! ^= 0xff;
    await writeFile(layerFile, bytes);
    await execa("tar", ["-C", x, "-cf", join(dir, "bad.tar"), "."]);
    expect((await stat(join(dir, "bad.tar"))).size).toBeGreaterThan(0);
    const { r } = await resolver();
    await expect(r.resolve(`docker-archive:${join(dir, "bad.tar")}`)).rejects.toThrow(
      new RegExp(`${manifest[0].Layers[0]}: content does not match the image config's diff_id`),
    );
  });
});

function INDEX_ROOT(image: ResolvedImage): boolean {
  return image.root.mediaType === MediaType.ociIndex && image.root.digest !== image.manifestDescriptor.digest;
}
