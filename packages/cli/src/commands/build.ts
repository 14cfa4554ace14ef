import type { CommandDecl } from "../declare.js";
import { BUILDER_MODE_NAMES, COMPRESSION_NAMES, FORMAT_NAMES } from "./build-choices.js";
import { imageOptions } from "./registry-options.js";

export const buildCommand: CommandDecl = {
  name: "build",
  summary: "Build an appliance from LinuxKit YAML files",
  details:
    "Later files override kernel fields and append to init, onboot, onshutdown, services, files and volumes. " +
    "Formats come from --format, else from a legacy `outputs:` key, else kernel+initrd (tar with -o). " +
    "Outputs appear only when every format is complete; an interrupted or failed build leaves none behind. " +
    "A build whose YAML, images and options are unchanged, and whose outputs are still in place, does " +
    `nothing. Formats: ${FORMAT_NAMES.join(", ")}.`,
  args: [
    { name: "files", description: "YAML files; - reads standard input", variadic: true, required: true },
  ],
  options: [
    {
      flags: "-f, --format <formats>",
      description: "output formats, comma-separated or repeated",
      repeatable: true,
    },
    {
      flags: "--name <name>",
      description: "base name of the outputs (default: the last YAML file's name without extension)",
    },
    { flags: "--dir <dir>", description: "directory to write the outputs to (default: .)" },
    {
      flags: "-o, --output <file>",
      description: "write the one streamable format (tar, docker) to FILE, or - for standard output",
    },
    {
      flags: "--size <size>",
      description: "size of fixed-size disk images, e.g. 1024M or 4G",
      default: "1024M",
    },
    {
      flags: "--compression <type>",
      description: "initrd compression",
      choices: COMPRESSION_NAMES,
      default: "gzip",
    },
    { flags: "--pull", description: "pull images from their registry even when they are in the cache" },
    { flags: "--docker", description: "look for images in the local Docker engine before the cache" },
    {
      flags: "--builder <mode>",
      description: "run the tools disk and ISO formats need natively, or in kiln's builder image",
      choices: BUILDER_MODE_NAMES,
      default: "native",
    },
    { flags: "--force", description: "rebuild even when the outputs are up to date" },
    ...imageOptions,
    { flags: "--dry-run", description: "print the merged, normalised YAML and exit" },
  ],
  examples: [
    "kiln build examples/minio.yml",
    "kiln build -f kernel+initrd,iso-efi --dir out examples/minio.yml",
    "kiln build -o - examples/minio.yml | tar tv",
  ],
  async run(files, options, ctx) {
    // An unchanged build is answered before the builder is loaded, which is most of a no-op's time.
    const started = Date.now();
    const { quickBuild } = await import("./build-quick.js");
    const answered = await quickBuild(files, options, ctx, started);
    if (answered !== undefined) return answered;
    const { runBuild } = await import("./build-action.js");
    return runBuild(files, options, ctx);
  },
};
