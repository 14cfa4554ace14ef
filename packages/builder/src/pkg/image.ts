// The image around the layer: config and manifest as stable JSON (fixed key order, no `created`, no history),
// stored in the cache, the layer verified as it is copied in, then the name tagged.

import { createReadStream } from "node:fs";
import { LABEL_KEY } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { type Descriptor, type ImageConfigBlob, type ImageManifest, MediaType } from "../oci/types.js";
import type { ResolvedImage } from "../registry/pull.js";
import type { WrittenLayer } from "./layer.js";
import type { Recipe } from "./recipe.js";

export function imageConfig(recipe: Recipe, arch: string, diffIds: string[]): ImageConfigBlob {
  const config: NonNullable<ImageConfigBlob["config"]> = {};
  const r = recipe.image;
  if (r.entrypoint) config.Entrypoint = r.entrypoint;
  if (r.cmd) config.Cmd = r.cmd;
  if (r.env) config.Env = r.env;
  if (r.workdir) config.WorkingDir = r.workdir;
  if (r.config) config.Labels = { [LABEL_KEY]: JSON.stringify(r.config) };
  return { architecture: arch, os: "linux", config, rootfs: { type: "layers", diff_ids: diffIds } };
}

export async function storeImage(
  cache: OciCache,
  name: string,
  recipe: Recipe,
  arch: string,
  layer: WrittenLayer,
): Promise<ResolvedImage> {
  const layerDescriptor: Descriptor = {
    mediaType: MediaType.ociLayerGzip,
    digest: layer.digest,
    size: layer.size,
  };
  await cache.writeBlob(layerDescriptor, createReadStream(layer.file), `${name} layer`);
  const config = imageConfig(recipe, arch, [layer.diffId]);
  const configDescriptor = await cache.putBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers: [layerDescriptor],
  };
  const manifestDescriptor = await cache.putBytes(
    Buffer.from(JSON.stringify(manifest)),
    MediaType.ociManifest,
  );
  await cache.tag(name, manifestDescriptor);
  return { name, root: manifestDescriptor, manifestDescriptor, manifest, config, fromCache: false };
}
