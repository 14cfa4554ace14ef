// kiln's images in a registry both tools can pull from: each recipe in images/ is built by kiln (a no-op when
// the cache has its content tag) and pushed to REGISTRY/kiln/NAME:TAG, so kiln and LinuxKit build the same
// YAML from the same images by the same references.
import { join } from "node:path";
import { buildPackage, type OciCache, pushImage, RegistryClient } from "@kiln/builder";
import { REPO_ROOT } from "./paths.js";

/** Every recipe examples/minio.yml names. */
export const APPLIANCE_PACKAGES = [
  "kernel",
  "init",
  "runc",
  "ca-certificates",
  "dhcpcd",
  "metadata",
  "format",
  "mount",
  "minio",
] as const;

export interface PushedPackage {
  /** The recipe's directory name under images/. */
  name: string;
  /** `REGISTRY/kiln/NAME:TAG`, TAG being kiln's content tag. */
  ref: string;
  digest: string;
  /** False when kiln's cache already had the image. */
  built: boolean;
}

export interface PushPackagesOptions {
  cache: OciCache;
  /** Repository prefix under the registry (default `kiln`). */
  prefix?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Build (when needed) and push each of `names` (directories of images/) to `registry` (`HOST:PORT`). */
export async function pushPackages(
  registry: string,
  names: readonly string[],
  o: PushPackagesOptions,
): Promise<Map<string, PushedPackage>> {
  const client = new RegistryClient();
  const pushed = new Map<string, PushedPackage>();
  for (const name of names) {
    const image = await buildPackage(join(REPO_ROOT, "images", name), {
      cache: o.cache,
      ...(o.log ? { log: o.log } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const target = `${registry}/${o.prefix ?? "kiln"}/${name}:${image.tag}`;
    const p = await pushImage(client, o.cache, image, target);
    o.log?.(`${image.built ? "built and pushed" : "pushed"} ${p.name}`);
    pushed.set(name, { name, ref: p.name, digest: p.digest, built: image.built });
  }
  return pushed;
}

const PKG_REF = /(["']?)@pkg:(?:[^"'\s]*\/)?images\/([a-z0-9-]+)\/?\1/g;

/**
 * `yaml` with every `@pkg:…/images/NAME` reference replaced by the pushed image's registry reference. A
 * package that was not pushed is an error, so a YAML is never half rewritten.
 */
export function withRegistryRefs(yaml: string, refs: ReadonlyMap<string, PushedPackage>): string {
  return yaml.replace(PKG_REF, (_all, _quote: string, name: string) => {
    const p = refs.get(name);
    if (!p) throw new Error(`the YAML names @pkg:…/images/${name}, which was not pushed`);
    return p.ref;
  });
}

/** The recipe names a YAML refers to with `@pkg:…/images/NAME`, in order of first appearance. */
export function packagesOf(yaml: string): string[] {
  return [...new Set([...yaml.matchAll(PKG_REF)].map((m) => m[2]!))];
}
