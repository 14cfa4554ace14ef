// An image as assembly sees it: its config, its name in the appliance, and its flattened filesystem.

import { formatImageRef, type ImageConfig, type ImageRef, parseImageRef, parseRegistryRef } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { openLayer } from "../flatten/decompress.js";
import type { FlatEntry } from "../flatten/entry.js";
import { flattenLayers } from "../flatten/flatten.js";
import type { ResolvedImage } from "../registry/pull.js";

export interface ApplianceImage {
  /** The reference as the merged config writes it. */
  ref: string;
  /** What LinuxKit calls it in `LINUXKIT.source` and in `metadata:` files (see `linuxkitName`). */
  source: string;
  config: ImageConfig;
  /** The manifest digest, when the image came from the cache: its contents are a function of it. */
  digest?: string;
  /** The compressed size of its layers, with `digest`. */
  layerBytes?: number;
  /** A fresh pass over the image's flattened filesystem. */
  entries(signal?: AbortSignal): AsyncIterable<FlatEntry>;
}

function linuxkitForm(ref: Extract<ImageRef, { kind: "registry" }>): string {
  // LinuxKit keeps a reference as written, and kiln's normalisation only ever adds `:latest` to a
  // reference without a digest, so that is the one thing to take off again.
  const full = formatImageRef(ref);
  return ref.digest === undefined && ref.tag === "latest" ? full.slice(0, -":latest".length) : full;
}

/**
 * The name LinuxKit gives an image: the expanded reference without a default `:latest`
 * (`docker.io/library/alpine`). Local sources (`@pkg:`, `oci-layout:`, `docker-archive:`) go by the
 * name their image was given in the cache when that is a registry name (a package's content tag), so
 * the appliance does not depend on where the YAML lives.
 */
export function linuxkitName(ref: string, cachedName?: string): string {
  let parsed: ImageRef;
  try {
    parsed = parseImageRef(ref);
  } catch {
    return ref;
  }
  if (parsed.kind === "registry") return linuxkitForm(parsed);
  if (cachedName !== undefined) {
    try {
      return linuxkitForm(parseRegistryRef(cachedName));
    } catch {
      // not a registry name: fall back to the reference
    }
  }
  return ref;
}

/** An image resolved into the cache, read back layer by layer. */
export function cachedImage(cache: OciCache, ref: string, resolved: ResolvedImage): ApplianceImage {
  const c = resolved.config.config ?? {};
  const config: ImageConfig = {};
  if (c.Entrypoint !== undefined) config.Entrypoint = c.Entrypoint;
  if (c.Cmd !== undefined) config.Cmd = c.Cmd;
  if (c.Env !== undefined) config.Env = c.Env;
  if (c.WorkingDir !== undefined) config.WorkingDir = c.WorkingDir;
  if (c.Labels !== undefined) config.Labels = c.Labels;
  const layers = resolved.manifest.layers.map((l) => ({
    digest: l.digest,
    open: () => openLayer(cache.blobPath(l.digest), l.mediaType),
  }));
  return {
    ref,
    source: linuxkitName(ref, resolved.name),
    config,
    digest: resolved.manifestDescriptor.digest,
    layerBytes: resolved.manifest.layers.reduce((n, l) => n + l.size, 0),
    entries: (signal) => flattenLayers(layers, signal ? { signal } : {}),
  };
}
