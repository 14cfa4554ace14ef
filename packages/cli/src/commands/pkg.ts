import type { CommandDecl, OptionDecl } from "../declare.js";
import { imageOptions } from "./registry-options.js";

const sharedOptions: readonly OptionDecl[] = [
  ...imageOptions.filter((o) => o.flags.startsWith("--cache")),
  {
    flags: "--arch <arch>",
    description: "target architecture, e.g. arm64 (default: the host's); part of the tag",
  },
];

const build: CommandDecl = {
  name: "build",
  summary: "Build OCI images from package recipes (DIR/build.yml) into the cache",
  details:
    "Each image is named kiln.local/pkg/NAME:TAG, the tag being a hash of every input (recipe, local files, " +
    "Debian package versions, Go module versions and toolchain, architecture). An image already in the cache " +
    "is not built again. No Docker daemon and no root are needed. See docs/packages.md.",
  args: [{ name: "dirs", description: "recipe directories", variadic: true, required: true }],
  options: [
    { flags: "--force", description: "build even when the cache has the image" },
    ...sharedOptions,
    {
      flags: "--push <ref>",
      description:
        "push to a registry: REGISTRY/NAME[:TAG] (default tag: the hash tag); with several DIRs, a REGISTRY/PREFIX",
    },
    {
      flags: "--output <dest>",
      description: "also write the image(s) to an OCI layout: oci-layout:PATH[:TAG]",
    },
    { flags: "--docker", description: "also load the image(s) into the local Docker engine" },
    ...imageOptions.filter((o) => o.flags.startsWith("--insecure-registry") || o.flags.startsWith("-q")),
  ],
  examples: [
    "kiln pkg build images/runc",
    "kiln pkg build --push 127.0.0.1:5000/kiln/runc:dev images/runc",
    "kiln pkg build --output oci-layout:./out images/*/",
  ],
  async run(dirs, options, ctx) {
    const { runPkgBuild } = await import("./pkg-action.js");
    return runPkgBuild(dirs, options, ctx);
  },
};

const showTag: CommandDecl = {
  name: "show-tag",
  summary: "Print the image name a recipe builds to (kiln.local/pkg/NAME:TAG), without building",
  args: [{ name: "dirs", description: "recipe directories", variadic: true, required: true }],
  options: sharedOptions,
  examples: ["kiln pkg show-tag images/runc"],
  async run(dirs, options, ctx) {
    const { runShowTag } = await import("./pkg-action.js");
    return runShowTag(dirs, options, ctx);
  },
};

export const pkgCommand: CommandDecl = {
  name: "pkg",
  summary: "Build OCI images from kiln package recipes, offline and without a Docker daemon",
  subcommands: [build, showTag],
};
