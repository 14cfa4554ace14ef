// The measured side of bench/flatten-rss.ts: flatten one cached image, reading every body to the end,
// and report what it took. flatten-run.mjs CACHE NAME [--no-flatten]
import { createHash } from "node:crypto";
import { flattenLayers, OciCache, openLayer, resolveCached } from "../packages/builder/dist/index.js";

const [cacheDir, name, mode] = process.argv.slice(2);
const cache = await OciCache.open(cacheDir);
const image = await resolveCached(cache, name, "amd64");
if (!image) throw new Error(`${name} is not in ${cacheDir}`);
const started = performance.now();
let entries = 0;
let bytes = 0;
if (mode !== "--no-flatten") {
  const layers = image.manifest.layers.map((l) => ({
    digest: l.digest,
    open: () => openLayer(cache.blobPath(l.digest), l.mediaType),
  }));
  // Hash the contents, as a consumer writing them somewhere would touch every byte.
  const hash = createHash("sha256");
  for await (const { body } of flattenLayers(layers)) {
    entries++;
    if (!body) continue;
    for await (const chunk of body) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ entries, bytes, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
