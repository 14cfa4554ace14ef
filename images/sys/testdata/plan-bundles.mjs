// Scaffolding for boot tests: write the bundles @kiln/spec plans for a YAML into OUT, each with
// config.json, runtime.json and an empty rootfs/ or lower/+tmp/+rootfs/ (the caller fills the image in).
// Usage: node plan-bundles.mjs YAML OUT [IMAGE=LABELJSONFILE...]
// Prints one line per bundle: PREFIX ROOT UNPACKS (ROOT is where the image's filesystem goes).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const spec = await import(resolve(here, "../../../packages/spec/dist/index.js"));
const [yamlPath, out, ...labelArgs] = process.argv.slice(2);
const labels = new Map(
  labelArgs.map((a) => {
    const [image, file] = a.split("=");
    return [image, readFileSync(file, "utf8")];
  }),
);
const { config } = spec.loadConfig([{ name: yamlPath, text: readFileSync(yamlPath, "utf8") }]);
const imageConfig = (ref) => {
  for (const [image, label] of labels) {
    if (ref.includes(image)) return { Labels: { [spec.LABEL_KEY]: label } };
  }
  return {};
};
for (const b of spec.planBundles(config, imageConfig)) {
  const dir = join(out, b.placement.prefix);
  mkdirSync(join(dir, "rootfs"), { recursive: true });
  if (!b.placement.readonly) mkdirSync(join(dir, "tmp"), { recursive: true });
  mkdirSync(join(out, b.placement.root), { recursive: true });
  writeFileSync(join(dir, "config.json"), b.configJson);
  writeFileSync(join(dir, "runtime.json"), b.runtimeJson);
  console.log(`${b.placement.prefix} ${b.placement.root} ${b.unpacksImage ? "unpack" : "shared"}`);
}
