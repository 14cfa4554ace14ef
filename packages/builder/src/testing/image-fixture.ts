// Builds small real OCI images for tests: gzip'd tar layers made with tar-stream, written as an OCI layout.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { OciCache } from "../cache/cache.js";
import { sha256 } from "../cache/digest.js";
import { type Descriptor, type ImageIndex, type ImageManifest, MediaType } from "../oci/types.js";

export interface FixtureFile {
  name: string;
  content?: string | Buffer;
  type?: "file" | "directory" | "symlink";
  linkname?: string;
  mode?: number;
}

export async function tarOf(files: readonly FixtureFile[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve) => p.on("end", () => resolve()));
  for (const f of files) {
    const type = f.type ?? "file";
    const header = {
      name: f.name,
      type,
      mode: f.mode ?? (type === "directory" ? 0o755 : 0o644),
      mtime: new Date(0),
    };
    if (type === "file") p.entry(header, f.content ?? "");
    else p.entry(type === "symlink" ? { ...header, linkname: f.linkname! } : header);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface FixtureImage {
  layers: FixtureFile[][];
  config?: Record<string, unknown>;
  architecture?: string;
}

/** Write one platform image into a layout and return its manifest descriptor. */
export async function addImage(layout: OciCache, image: FixtureImage): Promise<Descriptor> {
  const layerDescs: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const files of image.layers) {
    const tar = await tarOf(files);
    diffIds.push(sha256(tar));
    layerDescs.push(await layout.putBytes(gzipSync(tar), MediaType.ociLayerGzip));
  }
  const arch = image.architecture ?? "amd64";
  const config = {
    architecture: arch,
    os: "linux",
    config: image.config ?? {},
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  const configDesc = await layout.putBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers: layerDescs,
  };
  const d = await layout.putBytes(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
  return { ...d, platform: { architecture: arch, os: "linux" } };
}

/** A new OCI layout holding `images` under `tag`: one manifest, or an index when several are given. */
export async function makeLayout(
  tag: string,
  images: readonly FixtureImage[],
): Promise<{ dir: string; root: Descriptor }> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-layout-"));
  const layout = await OciCache.open(dir);
  const manifests = [];
  for (const img of images) manifests.push(await addImage(layout, img));
  let root: Descriptor;
  if (manifests.length === 1) {
    const { platform: _, ...d } = manifests[0]!;
    root = d;
  } else {
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
    root = await layout.putBytes(Buffer.from(JSON.stringify(index)), MediaType.ociIndex);
  }
  await layout.tag(tag, root);
  return { dir, root };
}
