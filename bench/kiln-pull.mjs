// One cold pull with kiln's builder, as the benchmark's kiln side: kiln-pull.mjs CACHE REF
import { OciCache, pullImage, RegistryClient } from "../packages/builder/dist/index.js";

const [cacheDir, ref] = process.argv.slice(2);
const cache = await OciCache.open(cacheDir);
await pullImage(new RegistryClient(), cache, ref, { concurrency: 4 });
