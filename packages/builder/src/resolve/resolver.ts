// One place that turns any image reference a YAML can hold into an image in the cache.

import { formatImageRef, type ImageRef, KilnError, parseImageRef } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { buildPackage } from "../pkg/build.js";
import type { RegistryClient } from "../registry/client.js";
import { hostArch } from "../registry/platform.js";
import { type PullOptions, pullImage, type ResolvedImage } from "../registry/pull.js";
import { resolveDockerArchive } from "../sources/docker-archive-source.js";
import type { DockerEngine } from "../sources/docker-engine.js";
import { resolveFromDocker } from "../sources/docker-source.js";
import { resolveOciLayout } from "../sources/oci-layout-source.js";

export interface ResolverOptions {
  cache: OciCache;
  client: RegistryClient;
  arch?: string;
  /** `--pull`: ask the registry even when the cache has the image. */
  pull?: boolean;
  /** `--docker`: try the local Docker engine before the cache and the registry (unless `pull`). */
  docker?: boolean;
  /** The engine `docker` asks; by default the one DOCKER_HOST (or /var/run/docker.sock) names. */
  engine?: DockerEngine;
  onProgress?: PullOptions["onProgress"];
  /** Progress lines for slow local work (package builds). */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** A way of getting one kind of reference into the cache. */
export type SourceHandler = (ref: ImageRef, text: string, options: ResolverOptions) => Promise<ResolvedImage>;

// Each kind's handler lives in its own module; add a row here when a kind gains one.
const handlers: Partial<Record<ImageRef["kind"], SourceHandler>> = {
  registry: async (ref, _text, o) => {
    const arch = o.arch ?? hostArch();
    // LinuxKit's order: with --docker (and no --pull) the engine first, then the cache, then the registry.
    if (o.docker && !o.pull) {
      const local = await resolveFromDocker(o.cache, formatImageRef(ref), arch, {
        engine: o.engine,
        log: o.log,
      });
      if (local) return local;
    }
    return pullImage(o.client, o.cache, ref as Extract<ImageRef, { kind: "registry" }>, {
      arch,
      force: o.pull,
      onProgress: o.onProgress,
    });
  },
  "oci-layout": (ref, _text, o) =>
    resolveOciLayout(o.cache, ref as Extract<ImageRef, { kind: "oci-layout" }>, o.arch ?? hostArch()),
  pkg: (ref, _text, o) =>
    buildPackage((ref as Extract<ImageRef, { kind: "pkg" }>).path, {
      cache: o.cache,
      arch: o.arch ?? hostArch(),
      log: o.log,
      signal: o.signal,
    }),
  "docker-archive": (ref, _text, o) =>
    resolveDockerArchive(o.cache, ref as Extract<ImageRef, { kind: "docker-archive" }>, o.arch ?? hostArch()),
};

export class ImageResolver {
  private readonly memo = new Map<string, Promise<ResolvedImage>>();

  constructor(readonly options: ResolverOptions) {}

  /** Resolve each distinct reference once, however many times a YAML names it. */
  resolve(text: string): Promise<ResolvedImage> {
    let p = this.memo.get(text);
    if (!p) {
      p = this.resolveOnce(text);
      this.memo.set(text, p);
    }
    return p;
  }

  private async resolveOnce(text: string): Promise<ResolvedImage> {
    const ref = parseImageRef(text);
    const handler = handlers[ref.kind];
    if (!handler) {
      throw new KilnError(`${text}: ${ref.kind} images are not supported yet`, {
        hint: "push the image to a registry and refer to it by name",
      });
    }
    return handler(ref, text, this.options);
  }
}
