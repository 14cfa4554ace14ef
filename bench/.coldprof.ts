import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OciCache } from "../packages/builder/src/index.ts";
import { startRegistry } from "../packages/builder/src/testing/index.ts";
import { minimalCase } from "../packages/e2e/src/oracle-corpus.ts";
import { APPLIANCE_PACKAGES, pushPackages } from "../packages/e2e/src/oracle-images.ts";
import { writeCase } from "../packages/e2e/src/oracle-peers.ts";
import { imageCacheDir } from "../packages/e2e/src/paths.ts";

const registry = await startRegistry();
const refs = await pushPackages(registry.host, APPLIANCE_PACKAGES, {
  cache: await OciCache.open(imageCacheDir()),
});
const c = minimalCase(refs);
const work = await mkdtemp(join(tmpdir(), "coldprof-"));
const yaml = await writeCase(join(work, "out"), c);
console.log("REGISTRY", registry.host, "YAML", yaml);
await new Promise((r) => setTimeout(r, Number(process.env.HOLD ?? 600) * 1000));
await registry.stop();
