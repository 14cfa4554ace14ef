import { formatIssue, KilnError, loadConfig, renderDryRun } from "@kiln/spec";
import type { CommandDecl } from "../declare.js";
import { readSources } from "../inputs.js";

export const buildCommand: CommandDecl = {
  name: "build",
  summary: "Build an appliance from LinuxKit YAML files",
  details:
    "Later files override kernel fields and append to init, onboot, onshutdown, services, files and volumes. " +
    "Formats come from --format, else from a legacy `outputs:` key, else kernel+initrd.",
  args: [
    { name: "files", description: "YAML files; - reads standard input", variadic: true, required: true },
  ],
  options: [
    {
      flags: "-f, --format <formats>",
      description: "output formats, comma-separated or repeated",
      repeatable: true,
    },
    { flags: "--name <name>", description: "output name (default: the last YAML file's base name)" },
    { flags: "--dir <dir>", description: "output directory", default: "." },
    { flags: "--dry-run", description: "print the merged, normalised YAML and exit" },
  ],
  examples: [
    "kiln build --dry-run examples/minio.yml",
    "kiln build -f kernel+initrd,iso-efi examples/minio.yml",
  ],
  async run(files, options, ctx) {
    const sources = await readSources(files, ctx.stdin);
    const loaded = loadConfig(sources);
    for (const w of loaded.warnings) ctx.stderr.write(`${formatIssue(w)} (warning)\n`);
    const formats = selectFormats(options.format as string[] | undefined, loaded.legacyFormats);
    if (options.dryRun) {
      ctx.stderr.write(`formats: ${formats.join(",")}\n`);
      ctx.stdout.write(renderDryRun(loaded));
      return 0;
    }
    throw new KilnError("building images is not implemented yet in this version of kiln", {
      hint: "use --dry-run to see the merged config",
    });
  },
};

export function selectFormats(flag: readonly string[] | undefined, legacy: readonly string[]): string[] {
  const fromFlag = (flag ?? [])
    .flatMap((f) => f.split(","))
    .map((f) => f.trim())
    .filter(Boolean);
  if (fromFlag.length > 0) return [...new Set(fromFlag)];
  if (legacy.length > 0) return [...legacy];
  return ["kernel+initrd"];
}
