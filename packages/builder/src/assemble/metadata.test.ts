import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "@kiln/spec";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { linuxkitName } from "./image.js";
import { renderMetadata } from "./metadata.js";
import { resolvesToNonString, yamlV2KeyLess } from "./yaml-v2.js";

const SPEC_GOLDEN = fileURLToPath(new URL("../../../spec/src/testdata/golden/", import.meta.url));
const OURS = fileURLToPath(new URL("./testdata/metadata/", import.meta.url));
const refName = (ref: string) => linuxkitName(ref);

function configOf(caseFile: string) {
  const c = JSON.parse(readFileSync(caseFile, "utf8")) as { yaml?: string; yamls?: string[] };
  const yamls = c.yamls ?? [c.yaml!];
  return loadConfig(yamls.map((text, i) => ({ name: `case${i}.yml`, text }))).config;
}

const specCases = readdirSync(SPEC_GOLDEN)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -".json".length));

describe("metadata files are LinuxKit v1.8.2's bytes", () => {
  test("the corpus is all there", () => {
    expect(specCases.length).toBeGreaterThanOrEqual(45);
  });
  test.each(specCases)("%s: json and yaml", (name) => {
    const config = configOf(join(SPEC_GOLDEN, `${name}.json`));
    expect(renderMetadata(config, "json", refName)).toBe(
      readFileSync(join(SPEC_GOLDEN, name, "metadata.json"), "utf8"),
    );
    const yaml = renderMetadata(config, "yaml", refName);
    expect(yaml).toBe(readFileSync(join(OURS, `${name}.yaml`), "utf8"));
    // The spec package's copy was re-indented, but means the same.
    expect(parse(yaml)).toEqual(parse(readFileSync(join(SPEC_GOLDEN, name, "metadata.yaml"), "utf8")));
  });
  test("quoting, folding, literal blocks, escapes and key order", () => {
    const config = configOf(join(OURS, "quoting.case.json"));
    expect(renderMetadata(config, "yaml", refName)).toBe(readFileSync(join(OURS, "quoting.yaml"), "utf8"));
    expect(renderMetadata(config, "json", refName)).toBe(readFileSync(join(OURS, "quoting.json"), "utf8"));
  });
  test("image names are written as LinuxKit resolves them, without a default :latest", () => {
    const config = loadConfig([
      { name: "a.yml", text: "init: [alpine, alpine:3.20, 'alpine@sha256:" + "a".repeat(64) + "']\n" },
    ]).config;
    const json = JSON.parse(renderMetadata(config, "json", refName)) as { init: string[] };
    expect(json.init).toEqual([
      "docker.io/library/alpine",
      "docker.io/library/alpine:3.20",
      `docker.io/library/alpine@sha256:${"a".repeat(64)}`,
    ]);
  });
});

describe("yaml.v2 scalar rules", () => {
  test.each([
    ["yes", true],
    ["Off", true],
    ["0755", true],
    ["1_000", true],
    ["0x1F", true],
    ["1e3", true],
    [".5", true],
    ["2001-01-02", true],
    ["2001-13-02", false],
    ["~", true],
    ["", true],
    ["0-1", false],
    ["1.2.3", false],
    ["console=ttyS0", false],
    ["yesno", false],
  ])("%j reads back as something else than a string: %s", (s, expected) => {
    expect(resolvesToNonString(s)).toBe(expected);
  });
  test("map keys: letters before digits, digit runs as numbers", () => {
    const keys = ["a10", "b", "a9", "1", "A", "z00", "z0"];
    keys.sort((a, b) => (yamlV2KeyLess(a, b) ? -1 : yamlV2KeyLess(b, a) ? 1 : 0));
    expect(keys).toEqual(["1", "A", "a9", "a10", "b", "z0", "z00"]);
  });
});
