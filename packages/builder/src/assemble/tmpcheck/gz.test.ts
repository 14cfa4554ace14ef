import { readFileSync, writeFileSync } from "node:fs";
import { test } from "vitest";
import { gzipParallel } from "../../formats/compress.js";

test("gz", async () => {
  const data = readFileSync("/tmp/h4a/corpus.bin");
  for (const workers of [1, 2, 4]) {
    const t0 = performance.now();
    const out: Buffer[] = [];
    async function* src() { for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536); }
    for await (const c of gzipParallel(src(), { workers })) out.push(c);
    const b = Buffer.concat(out);
    const ms = performance.now() - t0;
    writeFileSync(`/tmp/h4a/pg${workers}.gz`, b);
    console.log(workers, ms.toFixed(0), "ms", (data.length / 1048576 / (ms / 1000)).toFixed(1), "MiB/s", b.length);
  }
}, 120000);
