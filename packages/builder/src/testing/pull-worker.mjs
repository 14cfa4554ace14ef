// A separate process that pulls images into a shared cache, for the concurrency test.
// It runs the built code, as a second kiln process would: usage: pull-worker.mjs CACHE REF...
import { OciCache } from "../../dist/cache/cache.js";
import { RegistryClient } from "../../dist/registry/client.js";
import { pullImage } from "../../dist/registry/pull.js";

const [cacheDir, ...refs] = process.argv.slice(2);
const cache = await OciCache.open(cacheDir);
const client = new RegistryClient();
const results = [];
for (const ref of refs) {
  const image = await pullImage(client, cache, ref, { concurrency: 4 });
  results.push({ name: image.name, digest: image.root.digest });
}
process.stdout.write(JSON.stringify(results));
