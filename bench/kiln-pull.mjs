// One cold pull with kiln's builder, as the benchmark's kiln side: kiln-pull.mjs CACHE REF
// It imports the three modules a pull needs rather than the builder's index, which also loads the
// tar, process and format code a pull never runs (see docs/benchmarks.md for what that costs).
import { OciCache } from "../packages/builder/dist/cache/cache.js";
import { RegistryClient } from "../packages/builder/dist/registry/client.js";
import { pullImage } from "../packages/builder/dist/registry/pull.js";

const [cacheDir, ref] = process.argv.slice(2);
const cache = await OciCache.open(cacheDir);
await pullImage(new RegistryClient(), cache, ref, { concurrency: 4 });
