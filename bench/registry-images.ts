// Builds kiln's images (images/NAME recipes) and pushes them to a loopback registry, so kiln and LinuxKit can
// build the same YAML from the same images by the same references. Prints `NAME<TAB>REF` per image.
//
//   npx tsx bench/registry-images.ts [--registry HOST:PORT] [--cache DIR] [--yaml FILE] [NAME...]
//
// Without --registry it starts Debian's docker-registry on 127.0.0.1 at a free port and keeps serving until
// Ctrl-C. NAMEs default to every image examples/minio.yml names. --yaml FILE also writes FILE with its
// `@pkg:…/images/NAME` references replaced by the pushed ones, to standard output.

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { OciCache } from "../packages/builder/src/index.ts";
import { startRegistry } from "../packages/builder/src/testing/index.ts";
import {
  APPLIANCE_PACKAGES,
  packagesOf,
  pushPackages,
  withRegistryRefs,
} from "../packages/e2e/src/oracle-images.ts";
import { imageCacheDir } from "../packages/e2e/src/paths.ts";

const { values, positionals } = parseArgs({
  options: {
    registry: { type: "string" },
    cache: { type: "string" },
    yaml: { type: "string" },
  },
  allowPositionals: true,
});

const yaml = values.yaml === undefined ? undefined : await readFile(values.yaml, "utf8");
const names = positionals.length > 0 ? positionals : yaml ? packagesOf(yaml) : [...APPLIANCE_PACKAGES];
const cache = await OciCache.open(values.cache ?? imageCacheDir());
const registry = values.registry === undefined ? await startRegistry() : undefined;
const host = values.registry ?? registry!.host;
try {
  const pushed = await pushPackages(host, names, {
    cache,
    log: (l) => console.error(`registry-images: ${l}`),
  });
  if (yaml) process.stdout.write(withRegistryRefs(yaml, pushed));
  else for (const p of pushed.values()) console.log(`${p.name}\t${p.ref}`);
  if (registry) {
    console.error(`registry-images: serving on ${host}; Ctrl-C stops it (and deletes its storage)`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
  }
} finally {
  await registry?.stop();
}
