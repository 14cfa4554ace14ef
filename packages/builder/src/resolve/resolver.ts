// One place that turns any image reference a YAML can hold into an image in the cache.

import { KilnError, type ImageRef, parseImageRef } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import type { RegistryClient } from "../registry/client.js";
import { hostArch } from "../registry/platform.js";
import { type PullOptions, pullImage, type ResolvedImage } from "../registry/pull.js";

export interface ResolverOptions {
  cache: OciCache;
  client: RegistryClient;
  arch?: string;
  /** `--pull`: ask the registry even when the cache has the image. */
  pull?: boolean;
  /** `--docker`: try the local Docker engine before the registry. */
  docker?: boolean;
  onProgress?: PullOptions["onProgress"];
  /** Progress lines for slow local work (package builds). */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** A way of getting one kind of reference into the cache. */
export type SourceHandler = (ref: ImageRef, text: string, options: ResolverOptions) => Promise<ResolvedImage>;

// Each kind's handler lives in its own module; add a row here when a kind gains one.
const handlers: Partial<Record<ImageRef["kind"], SourceHandler>> = {
  registry: (ref, _text, o) =>
    pullImage(o.client, o.cache, ref as Extract<ImageRef, { kind: "registry" }>, {
      arch: o.arch ?? hostArch(),
      force: o.pull,
      onProgress: o.onProgress,
    }),
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
