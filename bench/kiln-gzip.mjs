// kiln's parallel gzip on one file, as the gzip benchmark's kiln side: kiln-gzip.mjs FILE [workers]
// Prints "<seconds> <compressed bytes>".
import { createReadStream } from "node:fs";
import { availableParallelism } from "node:os";
import { gzipParallel } from "../packages/builder/dist/index.js";

const [file, workers] = process.argv.slice(2);
const started = performance.now();
let bytes = 0;
for await (const chunk of gzipParallel(createReadStream(file, { highWaterMark: 1 << 20 }), {
  workers: Number(workers ?? availableParallelism()),
}))
  bytes += chunk.length;
console.log(`${((performance.now() - started) / 1000).toFixed(3)} ${bytes}`);
