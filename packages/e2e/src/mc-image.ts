import { join } from "node:path";
import { buildPackage, type DockerEngine, loadIntoDocker, OciCache } from "@kiln/builder";
import { imageCacheDir, REPO_ROOT } from "./paths.js";
import { recordTiming } from "./timings.js";

/**
 * Builds images/mc with kiln (nothing to do when its content tag is cached) and loads it into the Docker
 * engine under a tag made from that content tag, so an engine that already has it is not loaded again.
 */
export async function loadMcImage(engine: DockerEngine): Promise<string> {
  const started = Date.now();
  const cache = await OciCache.open(imageCacheDir());
  const image = await buildPackage(join(REPO_ROOT, "images", "mc"), { cache });
  const tag = `kiln-e2e/mc:${image.tag}`;
  const loaded = (await engine.inspect(tag)) !== undefined;
  if (!loaded) await loadIntoDocker(cache, image, tag, engine);
  const what = `${image.built ? "built" : "cached"}, ${loaded ? "already in the engine" : "loaded"}`;
  await recordTiming("mc-image", Date.now() - started, what);
  return tag;
}
