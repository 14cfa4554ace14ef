// The builder image: images/builder/build.yml, built like any kiln package into the cache and loaded
// into the Docker engine under its content tag, once.

import { fileURLToPath } from "node:url";
import type { OciCache } from "../cache/cache.js";
import { buildPackage } from "../pkg/build.js";
import { hostArch } from "../registry/platform.js";
import type { DockerEngine } from "../sources/docker-engine.js";
import { loadIntoDocker } from "../sources/docker-source.js";

/** The recipe in this repository (the same depth from src/tools and dist/tools). */
export const BUILDER_RECIPE_DIR = fileURLToPath(new URL("../../../../images/builder/", import.meta.url));

export interface BuilderImageOptions {
  cache: OciCache;
  engine: DockerEngine;
  /** @default BUILDER_RECIPE_DIR */
  recipeDir?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Builds the builder image if the cache lacks it, loads it if the engine lacks it, and returns its name. */
export async function ensureBuilderImage(o: BuilderImageOptions): Promise<string> {
  const built = await buildPackage(o.recipeDir ?? BUILDER_RECIPE_DIR, {
    cache: o.cache,
    // The tools run on this machine's CPU, whatever the appliance's architecture.
    arch: hostArch(),
    ...(o.log ? { log: o.log } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!(await o.engine.inspect(built.name))) {
    o.log?.(`builder: loading ${built.name} into the Docker engine`);
    await loadIntoDocker(o.cache, built, built.name, o.engine);
  }
  return built.name;
}
