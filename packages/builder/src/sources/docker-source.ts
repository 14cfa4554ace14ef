// `--docker`: images from the local Docker engine, and images loaded into it.

import { PassThrough } from "node:stream";
import type { OciCache } from "../cache/cache.js";
import { type ResolvedImage, resolveCached } from "../registry/pull.js";
import { readArchive } from "./archive.js";
import { checkArchitecture, convertOnlyImage } from "./docker-archive-source.js";
import { DockerEngine } from "./docker-engine.js";
import { writeDockerArchive } from "./write-docker-archive.js";

/** The cache name of an image taken from the engine: kept apart from the registry's image of that name. */
export function dockerCacheName(name: string): string {
  return `docker:${name}`;
}

/**
 * The engine's image `name` for `arch`, imported into the cache as `docker:NAME`, or undefined when the
 * engine does not have it (or cannot be reached: like LinuxKit, `--docker` only adds a place to look).
 * An image the cache already holds with the engine's image ID is not exported again.
 */
export async function resolveFromDocker(
  cache: OciCache,
  name: string,
  arch: string,
  options: { engine?: DockerEngine; log?: (line: string) => void } = {},
): Promise<ResolvedImage | undefined> {
  const engine = options.engine ?? new DockerEngine();
  let found: Awaited<ReturnType<DockerEngine["inspect"]>>;
  try {
    found = await engine.inspect(name);
  } catch (e) {
    options.log?.(`--docker: ${(e as Error).message}; looking in the cache and the registry instead`);
    return undefined;
  }
  if (!found || (found.Architecture && found.Architecture !== arch)) return undefined;
  const cacheName = dockerCacheName(name);
  const cached = await resolveCached(cache, cacheName, arch).catch(() => undefined);
  if (cached && (cached.manifest.config.digest === found.Id || cached.root.digest === found.Id))
    return cached;
  options.log?.(`${name}: exporting from the Docker engine`);
  const contents = await readArchive(cache, await engine.save(name), `the Docker engine's ${name}`);
  const converted = await convertOnlyImage(cache, contents);
  checkArchitecture(converted.config, arch, `the Docker engine's ${name}`);
  await cache.tag(cacheName, converted.manifestDescriptor);
  return { name: cacheName, root: converted.manifestDescriptor, ...converted, fromCache: false };
}

/**
 * `docker load` an image from the cache, tagged `tag` (NAME[:TAG]). The archive streams straight into
 * the engine. Returns the engine's "Loaded image: …" lines.
 */
export async function loadIntoDocker(
  cache: OciCache,
  image: ResolvedImage,
  tag: string,
  engine: DockerEngine = new DockerEngine(),
): Promise<string[]> {
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  // Whichever side fails first has the error worth reporting; the other then fails as a consequence.
  let first: unknown;
  const loading = engine.load(body);
  // If the engine stops reading, the writer must not wait for a drain that never comes.
  loading.catch((e: Error) => {
    first ??= e;
    body.destroy(e);
  });
  const writing = writeDockerArchive(cache, image, body, tag).then(
    () => {
      body.end();
    },
    (e: Error) => {
      first ??= e;
      body.destroy(e);
    },
  );
  const [, loaded] = await Promise.allSettled([writing, loading]);
  if (first !== undefined) throw first;
  if (loaded.status === "rejected") throw loaded.reason;
  return loaded.value;
}
