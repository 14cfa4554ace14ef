import type { CommandDecl } from "../declare.js";
import { cacheOnlyOptions, imageOptions } from "./registry-options.js";

const ls: CommandDecl = {
  name: "ls",
  summary: "List the images in the cache",
  options: cacheOnlyOptions,
  async run(args, options, ctx) {
    const { cacheLs } = await import("./cache-action.js");
    return cacheLs(args, options, ctx);
  },
};

const pull: CommandDecl = {
  name: "pull",
  summary: "Pull images into the cache (from the registry, even when cached)",
  args: [{ name: "refs", description: "image references", variadic: true, required: true }],
  options: imageOptions,
  examples: ["kiln cache pull alpine:3.20", "kiln cache pull --arch arm64 127.0.0.1:5000/kiln/minio:dev"],
  async run(args, options, ctx) {
    const { cachePull } = await import("./cache-action.js");
    return cachePull(args, options, ctx);
  },
};

const remove: CommandDecl = {
  name: "rm",
  summary: "Remove images from the cache, and the blobs only they used",
  args: [{ name: "refs", description: "image references", variadic: true, required: true }],
  options: cacheOnlyOptions,
  async run(args, options, ctx) {
    const { cacheRm } = await import("./cache-action.js");
    return cacheRm(args, options, ctx);
  },
};

const gc: CommandDecl = {
  name: "gc",
  summary:
    "Free what no cached image or build can use: blobs, initrd pieces, extracted kernels, build records",
  details:
    "Removes blobs no image in the cache refers to, initrd pieces and extracted kernels of images no longer " +
    "cached (and pieces unused for two weeks), and build records whose outputs are gone or were rewritten. " +
    "Anything written in the last ten minutes stays: a build or pull may still be using it. `kiln cache rm` " +
    "does the same after untagging.",
  options: cacheOnlyOptions,
  async run(args, options, ctx) {
    const { cacheGc } = await import("./cache-action.js");
    return cacheGc(args, options, ctx);
  },
};

const clean: CommandDecl = {
  name: "clean",
  summary: "Empty the cache",
  options: cacheOnlyOptions,
  async run(args, options, ctx) {
    const { cacheClean } = await import("./cache-action.js");
    return cacheClean(args, options, ctx);
  },
};

const importCmd: CommandDecl = {
  name: "import",
  summary: "Import the images of an OCI layout (directory or tar) or a docker save archive into the cache",
  details:
    "Every image index.json names is merged in, with the platforms the layout holds; a docker-archive's " +
    "images are converted to OCI. Every blob is verified against its digest. Images are named as the " +
    "archive names them (full names normalised); a bare tag in a layout becomes oci-layout:/abs/path:TAG.",
  args: [{ name: "file", description: "archive, layout directory, or - for standard input", required: true }],
  options: cacheOnlyOptions,
  examples: ["kiln cache import minio.tar", "docker save kiln/minio:dev | kiln cache import -"],
  async run(args, options, ctx) {
    const { cacheImport } = await import("./cache-action.js");
    return cacheImport(args, options, ctx);
  },
};

const exportCmd: CommandDecl = {
  name: "export",
  summary: "Export a cached image as an OCI layout, a docker-archive, or its flattened root filesystem",
  details:
    "oci writes an OCI image layout: a tar when -o ends in .tar or is -, else a directory (added to if it " +
    "is a layout already). docker writes a `docker load` archive. filesystem writes one tar of the image's " +
    "root filesystem, layers applied. Files appear only when complete.",
  args: [{ name: "ref", description: "image reference or cache name (see kiln cache ls)", required: true }],
  options: [
    {
      flags: "--format <format>",
      description: "what to write",
      choices: ["oci", "docker", "filesystem"],
      default: "oci",
    },
    {
      flags: "-o, --output <file>",
      description: "output file (or directory for oci); - for standard output",
    },
    {
      flags: "--tag <name>",
      description: "name the image in the archive (oci: the index.json name, docker: NAME:TAG; default: REF)",
    },
    ...imageOptions.filter((o) => o.flags.startsWith("--cache") || o.flags.startsWith("--arch")),
  ],
  examples: [
    "kiln cache export alpine:3.20 --format docker -o alpine.tar",
    "kiln cache export alpine:3.20 --format filesystem -o - | tar -t",
  ],
  async run(args, options, ctx) {
    const { cacheExport } = await import("./cache-action.js");
    return cacheExport(args, options, ctx);
  },
};

export const cacheCommand: CommandDecl = {
  name: "cache",
  summary: "Manage kiln's image cache, an OCI image layout that skopeo and umoci can read",
  subcommands: [ls, pull, importCmd, exportCmd, remove, gc, clean],
};
