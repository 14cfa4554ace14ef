import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formatImageRef, loadConfig, parseRegistryRef } from "@kiln/spec";
import { expect, test } from "vitest";
import { renderMetadata } from "../metadata.js";

const G = "/work/main/packages/spec/src/testdata/golden/";
const OUT = process.env.H4A_OUT ?? "/tmp/h4a/out/";
const refName = (r: string) => r.replace(/:latest$/, "");
for (const f of readdirSync(OUT)) {
  test(f, () => {
    const caseFile = existsSync(join(G, `${f}.json`))
      ? join(G, `${f}.json`)
      : join(process.env.H4A_CASES ?? "/tmp/h4a/cases", `${f}.json`);
    const c = JSON.parse(readFileSync(caseFile, "utf8"));
    const yamls: string[] = c.yamls ?? [c.yaml];
    const loaded = loadConfig(yamls.map((t, i) => ({ name: `c${i}.yml`, text: t })));
    expect(renderMetadata(loaded.config, "json", refName)).toBe(
      readFileSync(join(OUT, f, "metadata.json"), "utf8"),
    );
    expect(renderMetadata(loaded.config, "yaml", refName)).toBe(
      readFileSync(join(OUT, f, "metadata.yaml"), "utf8"),
    );
  });
}
