// kiln's parallel gzip on one file, as the gzip benchmark's kiln side: kiln-gzip.mjs FILE [workers]
// Prints "<seconds> <compressed bytes> <level>", at the level kiln writes initrds with.
import { createReadStream } from "node:fs";
import { availableParallelism } from "node:os";
import { GZIP_LEVEL, gzipParallel } from "../packages/builder/dist/index.js";

const [file, workers] = process.argv.slice(2);
// zlib's async deflate runs on libuv's pool (4 threads unless set before its first use), as in kiln's CLI.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));
const started = performance.now();
let bytes = 0;
for await (const chunk of gzipParallel(createReadStream(file, { highWaterMark: 1 << 20 }), {
  workers: Number(workers ?? availableParallelism()),
}))
  bytes += chunk.length;
console.log(`${((performance.now() - started) / 1000).toFixed(3)} ${bytes} ${GZIP_LEVEL}`);
