import { formatIssue, SpecError } from "@kiln/spec/errors";
import type { CommandDecl } from "../declare.js";
import { readSources } from "../inputs.js";

export const validateCommand: CommandDecl = {
  name: "validate",
  summary: "Check LinuxKit YAML files and report every problem with its file, line and field",
  details:
    "Files are merged the way `kiln build` merges them. Exit status: 0 when valid, 1 when the input is invalid, 2 on a usage error.",
  args: [
    {
      name: "files",
      description: "YAML files to check; - reads standard input",
      variadic: true,
      required: true,
    },
  ],
  options: [{ flags: "--json", description: "print a machine-readable report on stdout" }],
  examples: [
    "kiln validate examples/minio.yml",
    "cat minio.yml | kiln validate -",
    "kiln validate --json base.yml extra.yml",
  ],
  async run(files, options, ctx) {
    const sources = await readSources(files, ctx.stdin);
    const { loadConfig } = await import("@kiln/spec");
    try {
      const loaded = loadConfig(sources);
      if (options.json) {
        ctx.stdout.write(
          `${JSON.stringify({ valid: true, errors: [], warnings: loaded.warnings }, null, 2)}\n`,
        );
      } else {
        for (const w of loaded.warnings) ctx.stderr.write(`${formatIssue(w)} (warning)\n`);
        ctx.stdout.write(`${files.join(", ")}: valid\n`);
      }
      return 0;
    } catch (e) {
      if (!(e instanceof SpecError) || !options.json) throw e;
      ctx.stdout.write(`${JSON.stringify({ valid: false, errors: e.issues, warnings: [] }, null, 2)}\n`);
      return 1;
    }
  },
};
