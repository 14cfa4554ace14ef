import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { allocateIds } from "../ids.js";
import { normalizeImageRef } from "../image-ref.js";
import { loadConfig } from "../load.js";
import { imageSchema } from "../schema.js";
import { planBundles } from "./bundles.js";
import { type ImageConfig, LABEL_KEY } from "./image-config.js";

const GOLDEN = fileURLToPath(new URL("../testdata/golden/", import.meta.url));

interface Case {
  yaml: string;
  images: Record<string, ImageConfig>;
}

interface LinuxkitBundle {
  section: string;
  index: number;
  name: string;
  prefix: string;
  readonly: boolean;
  root: string;
  rootOwner: boolean;
  files: string;
}

const cases = readdirSync(GOLDEN)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -".json".length));

describe("config.json and runtime.json match LinuxKit v1.8.2 byte for byte", () => {
  test("the corpus covers every per-image field of the schema", () => {
    const used = new Set<string>();
    for (const c of cases) {
      const input = JSON.parse(readFileSync(join(GOLDEN, `${c}.json`), "utf8")) as Case;
      const doc = parse(input.yaml) as Record<string, Array<Record<string, unknown>> | undefined>;
      for (const section of ["onboot", "onshutdown", "services"]) {
        for (const entry of doc[section] ?? []) for (const k of Object.keys(entry)) used.add(k);
      }
      for (const cfg of Object.values(input.images)) {
        const label = cfg.Labels?.[LABEL_KEY];
        if (label) for (const k of Object.keys(JSON.parse(label))) used.add(k);
      }
    }
    const missing = Object.keys(imageSchema.shape).filter((k) => !used.has(k));
    expect(missing).toEqual([]);
  });

  test.for(cases)("%s", (name) => {
    const input = JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), "utf8")) as Case;
    const { config } = loadConfig([{ name: `${name}.yml`, text: input.yaml }]);
    const images = new Map(Object.entries(input.images).map(([ref, cfg]) => [normalizeImageRef(ref), cfg]));
    const bundles = planBundles(config, (ref) => images.get(ref) ?? {});

    const expectedIds = JSON.parse(readFileSync(join(GOLDEN, name, "idmap.json"), "utf8"));
    expect(Object.fromEntries(allocateIds(config))).toEqual(expectedIds);

    const expected = JSON.parse(readFileSync(join(GOLDEN, name, "bundles.json"), "utf8")) as LinuxkitBundle[];
    expect(bundles).toHaveLength(expected.length);
    bundles.forEach((b, i) => {
      const lk = expected[i]!;
      expect({ section: b.section, index: b.index, name: b.name }).toEqual({
        section: lk.section,
        index: lk.index,
        name: lk.name,
      });
      expect(b.placement).toEqual({ prefix: lk.prefix, readonly: lk.readonly, root: lk.root });
      expect(b.unpacksImage).toBe(lk.rootOwner);
      expect(b.configJson).toBe(readFileSync(join(GOLDEN, name, `${lk.files}.config.json`), "utf8"));
      expect(b.runtimeJson).toBe(readFileSync(join(GOLDEN, name, `${lk.files}.runtime.json`), "utf8"));
    });
  });
});
